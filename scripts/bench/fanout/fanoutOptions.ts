// `npm run bench -- fanout [options]`: the command line, parsed with node:util parseArgs and validated
// (a bad value names the option and what it takes; nothing starts).
import { BenchOptionsError, benchCommandLine, COMMON_FLAGS, type CommonBenchOptions } from '../benchOptions.ts';
import { TRANSPORT_MIX } from '../../fleet/transportMix.ts';

export const SUBSCRIBER_TRANSPORTS = ['sse', 'ws', 'stream', 'poll'] as const;
export type SubscriberTransport = (typeof SUBSCRIBER_TRANSPORTS)[number];
/** What a row of the benchmark runs: one transport for every subscriber, or the mix. */
export type TransportChoice = SubscriberTransport | 'mix';
export const TRANSPORT_CHOICES: readonly TransportChoice[] = [...SUBSCRIBER_TRANSPORTS, 'mix'];

/** How subscribers reach Pushpin: straight to its proxy port, or through the edge on the local Compute host. */
export type Via = 'pushpin' | 'edge';

export interface FanoutOptions extends CommonBenchOptions {
  subscribers: number[];
  transports: TransportChoice[];
  /** Messages per second the publisher sends (through the origin's /api/publish, or the Socket.IO server). */
  rate: number;
  /** Seconds of publishing per run. */
  seconds: number;
  via: Via;
  /** Also run the same N and R against a Socket.IO 4 server. */
  socketIo: boolean;
  /** Load generator processes (each holds its share of the subscribers). */
  loadProcesses: number | undefined;
  /** Seconds to wait after the last publish for deliveries still on their way. */
  drainSeconds: number;
  /** Keep the rows of <out>/latest.json this run does not measure again (a series in several runs). */
  merge: boolean;
}

export const DEFAULT_OUT_DIR = 'bench-results/fanout';
export const MAX_SUBSCRIBERS = 50_000;

/** --quick: a smoke run in seconds (tiny N, short publish window); explicit options still win. */
// The mix holds every transport, so one row plus Socket.IO's covers every client kind.
const QUICK = { subscribers: [20], transports: ['mix'] as TransportChoice[], rate: 10, seconds: 2, drainSeconds: 5 };

export const FANOUT_HELP = `Usage: npm run bench -- fanout [options]

N subscribers on one channel and one publisher at R messages/s through the origin's /api/publish
(every message stored and numbered), against the local Pushpin; then the same N and R against a
Socket.IO 4 server (WebSocket clients) in the same run. Results: <out>/latest.json, latest.md, latest.svg.

  --subscribers LIST   subscriber counts, comma separated (default 1000,5000,10000; max ${MAX_SUBSCRIBERS})
  --transports LIST    sse, ws, stream, poll, mix (default all five; mix = 45% sse, 35% ws, 18% stream, 2% poll)
  --rate R             messages per second (default 2)
  --seconds S          seconds of publishing per run (default 20)
  --via pushpin|edge   subscribers connect straight to Pushpin (default) or through the edge (local Compute host)
  --no-socket-io       skip the Socket.IO runs
  --load-processes K   load generator processes (default: one per 2,500 subscribers, 2 to 8)
  --drain S            seconds to wait for late deliveries after the last publish (default 10)
  --out DIR            results folder (default ${DEFAULT_OUT_DIR})
  --merge              keep the rows of <out>/latest.json this run does not measure again
                       (run 1k, 5k and 10k as separate runs into one table and chart)
  --quick              smoke run: 20 subscribers of the mix (every transport) and Socket.IO's, 10 msg/s for 2 s
  -h, --help           this text
`;

export class FanoutOptionsError extends BenchOptionsError {
  override name = 'FanoutOptionsError';
}

const commandLine = benchCommandLine('fanout', FanoutOptionsError);
const positiveInteger = (name: string, raw: string, max: number): number => commandLine.wholeNumber(name, raw, 1, max);
const positiveNumber = (name: string, raw: string, max: number): number => commandLine.number(name, raw, 0, max, false);

function list(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new FanoutOptionsError(`empty item in "${raw}"`);
  return items;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

export function parseFanoutOptions(args: string[]): FanoutOptions {
  const v = commandLine.parse(args, {
    ...COMMON_FLAGS,
    subscribers: { type: 'string' },
    transports: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    via: { type: 'string' },
    'no-socket-io': { type: 'boolean' },
    'load-processes': { type: 'string' },
    drain: { type: 'string' },
    merge: { type: 'boolean' },
  });
  const quick = v.quick === true;
  const subscribers =
    v.subscribers !== undefined
      ? unique(list(v.subscribers).map((s) => positiveInteger('subscribers', s, MAX_SUBSCRIBERS)))
      : quick
        ? QUICK.subscribers
        : [1000, 5000, 10000];
  const transports =
    v.transports !== undefined
      ? unique(
          list(v.transports).map((t) => {
            if (!(TRANSPORT_CHOICES as readonly string[]).includes(t)) {
              throw new FanoutOptionsError(`--transports takes ${TRANSPORT_CHOICES.join(', ')}; got "${t}"`);
            }
            return t as TransportChoice;
          }),
        )
      : quick
        ? QUICK.transports
        : [...TRANSPORT_CHOICES];
  const via = v.via ?? 'pushpin';
  if (via !== 'pushpin' && via !== 'edge') throw new FanoutOptionsError(`--via takes pushpin or edge, got "${via}"`);
  return {
    subscribers,
    transports,
    rate: v.rate !== undefined ? positiveNumber('rate', v.rate, 1000) : quick ? QUICK.rate : 2,
    seconds: v.seconds !== undefined ? positiveNumber('seconds', v.seconds, 3600) : quick ? QUICK.seconds : 20,
    via,
    socketIo: v['no-socket-io'] !== true,
    loadProcesses: v['load-processes'] !== undefined ? positiveInteger('load-processes', v['load-processes'], 64) : undefined,
    drainSeconds: v.drain !== undefined ? positiveNumber('drain', v.drain, 600) : quick ? QUICK.drainSeconds : 10,
    outDir: v.out ?? DEFAULT_OUT_DIR,
    quick,
    merge: v.merge === true,
    help: v.help === true,
  };
}

/** Load generator processes for N subscribers: one per 2,500, at least 2 (both cores), at most 8. */
export function loadProcessesFor(subscribers: number, requested: number | undefined): number {
  const wanted = requested ?? Math.min(8, Math.max(2, Math.ceil(subscribers / 2500)));
  return Math.max(1, Math.min(wanted, subscribers));
}

/** The mix (scripts/fleet/transportMix.ts), under the benchmark's transport names. */
export const MIX_SHARES: Readonly<Record<SubscriberTransport, number>> = {
  sse: TRANSPORT_MIX.sse,
  ws: TRANSPORT_MIX.websocket,
  stream: TRANSPORT_MIX.stream,
  poll: TRANSPORT_MIX.poll,
};

/** Which transport each of N subscribers uses: every one the same, or the mix (largest remainder). */
export function transportsFor(choice: TransportChoice, n: number): SubscriberTransport[] {
  if (choice !== 'mix') return Array.from({ length: n }, () => choice);
  const exact = SUBSCRIBER_TRANSPORTS.map((t) => ({ t, exact: MIX_SHARES[t] * n }));
  const counts = new Map(exact.map(({ t, exact: e }) => [t, Math.floor(e)]));
  let left = n - [...counts.values()].reduce((a, b) => a + b, 0);
  for (const { t } of [...exact].sort((a, b) => (b.exact % 1) - (a.exact % 1))) {
    if (left-- <= 0) break;
    counts.set(t, counts.get(t)! + 1);
  }
  // A small mix still holds every transport (the smoke run exercises each kind of client).
  for (const t of SUBSCRIBER_TRANSPORTS) {
    if (counts.get(t)! > 0 || n < SUBSCRIBER_TRANSPORTS.length) continue;
    const largest = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    counts.set(largest, counts.get(largest)! - 1);
    counts.set(t, 1);
  }
  // Interleaved (each transport as evenly spread as its share allows), so every load process and every
  // connection batch gets its share of each.
  const assigned = new Map(SUBSCRIBER_TRANSPORTS.map((t) => [t, 0]));
  const out: SubscriberTransport[] = [];
  for (let i = 0; i < n; i++) {
    let best: SubscriberTransport | undefined;
    let bestLag = -Infinity;
    for (const t of SUBSCRIBER_TRANSPORTS) {
      if (assigned.get(t)! >= counts.get(t)!) continue;
      const lag = (counts.get(t)! * (i + 1)) / n - assigned.get(t)!;
      if (lag > bestLag) [best, bestLag] = [t, lag];
    }
    out.push(best!);
    assigned.set(best!, assigned.get(best!)! + 1);
  }
  return out;
}
