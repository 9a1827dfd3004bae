// `npm run bench -- plainVsClient [options]`: the command line, parsed with node:util parseArgs and
// validated (a bad value names the option and what it takes; nothing starts).
import { BenchOptionsError, benchCommandLine, COMMON_FLAGS, type CommonBenchOptions } from '../benchOptions.ts';
import { FAULT_NAMES, type FaultName, type PlainVsClientSettings } from './plainVsClientReport.ts';

export interface PlainVsClientOptions extends CommonBenchOptions {
  settings: PlainVsClientSettings;
  faults: FaultName[];
  /** The arguments these were read from (the results' command line). */
  args: string[];
}

export const DEFAULT_OUT_DIR = 'bench-results/plain-vs-client';

const FULL: PlainVsClientSettings = {
  clients: 10,
  restartClients: 50,
  burst: { messages: 1000, bytes: 1000 },
  // Larger than a stalled reader's socket buffers and Pushpin's (as slowConsumers.bench.ts).
  slowReaders: { messages: 2000, bytes: 3000 },
  // Past the client's 30 s silence check and 45 s idle timeout.
  waitSeconds: 75,
};

/**
 * --quick: a smoke run in well under two minutes. The clients still get the full wait (a stalled
 * stream may need the silence check), the plain subscribers 2 s past the clients: a smoke run checks
 * that the figures are counted, not what they are (a plain WebSocket's dropped burst never comes, and
 * the 5 s this was before cost the smoke test ~6 s of waiting for it).
 */
const QUICK: PlainVsClientSettings = {
  clients: 2,
  restartClients: 3,
  burst: { messages: 200, bytes: 1000 },
  slowReaders: { messages: 300, bytes: 3000 },
  waitSeconds: 75,
  plainGraceSeconds: 2,
};

export const PLAIN_VS_CLIENT_HELP = `Usage: npm run bench -- plainVsClient [options]

Plain subscribers (browser APIs, resuming from the last id they saw, no gap rule or silence check)
beside fanout-forward clients on every transport, straight to the local Pushpin with Redis history,
through four faults: ${FAULT_NAMES.join(', ')}. Prints and writes <out>/latest.json and latest.md:
delivered / lost / duplicated per side, transport and fault. Asserts nothing.

  --clients N          of each side per transport for burst and slow-readers (default ${FULL.clients})
  --restart-clients N  of each side per transport for the restarts (default ${FULL.restartClients})
  --burst N            messages of the burst (default ${FULL.burst.messages})
  --bytes B            bytes of each burst message (default ${FULL.burst.bytes})
  --slow-messages N    messages published while half of each side stops reading (default ${FULL.slowReaders.messages})
  --slow-bytes B       bytes of each of those (default ${FULL.slowReaders.bytes})
  --wait S             seconds everyone is given to have everything after a fault (default ${FULL.waitSeconds})
  --faults LIST        some of ${FAULT_NAMES.join(', ')} (default all)
  --out DIR            results folder (default ${DEFAULT_OUT_DIR})
  --quick              smoke run: ${QUICK.clients} of each per transport (${QUICK.restartClients} for the restarts), bursts of ${QUICK.burst.messages} and ${QUICK.slowReaders.messages},
                       the plain subscribers counted ${QUICK.plainGraceSeconds} s after the clients have everything
  -h, --help           this text
`;

export class PlainVsClientOptionsError extends BenchOptionsError {
  override name = 'PlainVsClientOptionsError';
}

const commandLine = benchCommandLine('plainVsClient', PlainVsClientOptionsError);

/** The value of --`name` (`fallback` when not given) as a whole number from `min` to `max`. */
function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  return raw === undefined ? fallback : commandLine.wholeNumber(name, raw, min, max);
}

function faultList(raw: string | undefined): FaultName[] {
  if (raw === undefined) return [...FAULT_NAMES];
  const items = raw.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!(FAULT_NAMES as readonly string[]).includes(item)) throw new PlainVsClientOptionsError(`--faults takes ${FAULT_NAMES.join(', ')}; got "${item}"`);
  }
  return [...new Set(items as FaultName[])];
}

export function parsePlainVsClientOptions(args: string[]): PlainVsClientOptions {
  const v = commandLine.parse(args, {
    ...COMMON_FLAGS,
    clients: { type: 'string' },
    'restart-clients': { type: 'string' },
    burst: { type: 'string' },
    bytes: { type: 'string' },
    'slow-messages': { type: 'string' },
    'slow-bytes': { type: 'string' },
    wait: { type: 'string' },
    faults: { type: 'string' },
  });
  const quick = v.quick === true;
  const base = quick ? QUICK : FULL;
  const settings: PlainVsClientSettings = {
    clients: wholeNumber('clients', v.clients, base.clients, 1, 500),
    restartClients: wholeNumber('restart-clients', v['restart-clients'], base.restartClients, 1, 500),
    burst: { messages: wholeNumber('burst', v.burst, base.burst.messages, 10, 100_000), bytes: wholeNumber('bytes', v.bytes, base.burst.bytes, 10, 60_000) },
    slowReaders: {
      messages: wholeNumber('slow-messages', v['slow-messages'], base.slowReaders.messages, 10, 100_000),
      bytes: wholeNumber('slow-bytes', v['slow-bytes'], base.slowReaders.bytes, 10, 60_000),
    },
    waitSeconds: wholeNumber('wait', v.wait, base.waitSeconds, 5, 600),
    ...(base.plainGraceSeconds !== undefined ? { plainGraceSeconds: base.plainGraceSeconds } : {}),
  };
  return { settings, faults: faultList(v.faults), outDir: v.out ?? DEFAULT_OUT_DIR, quick, help: v.help === true, args: [...args] };
}
