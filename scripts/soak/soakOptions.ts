// `npm run soak` options, parsed with node:util parseArgs and validated: a bad value stops the run
// with a message naming the option, before anything is started.
import { parseArgs } from 'node:util';

export interface SoakOptions {
  minutes: number;
  connections: number;
  via: 'pushpin' | 'edge';
  channels: number;
  publishIntervalMs: number;
  sampleSeconds: number;
  /** Each client is cut (and comes back with its position) once per this many seconds on average. */
  reconnectEverySeconds: number;
}

export class SoakOptionsError extends Error {
  override name = 'SoakOptionsError';
}

export const SOAK_HELP = `Usage: npm run soak -- [options]

A bounded soak of the local stack: clients of every transport (SSE, NDJSON stream, long-poll,
WebSocket) held through Pushpin (or the edge), messages published through the origin, clients cut at
random and coming back with their last id; memory of the origin, Pushpin (and the edge) sampled.
Ends by itself; exit code 1 when any client lost or got a message twice.

Options:
  --minutes N              how long to publish (default 5; 0.1-240)
  --connections N          clients in all, split evenly over the four transports (default 5000; 4-20000)
  --via pushpin|edge       connect straight to Pushpin (default) or through the edge on the local Compute host
  --channels N             channels the clients spread over (default 10; 1-1000)
  --publish-interval-ms N  one message to every channel this often (default 1000; 50-60000)
  --sample-seconds N       memory sample interval (default 10; 1-600)
  --reconnect-every N      each client is cut once per N seconds on average (default 120; 5-100000)
  -h, --help               this help

Needs an open-files limit above the connections (about 2x): raise it with \`ulimit -n 65536\` first
when \`ulimit -n\` says less.`;

function number(raw: string | undefined, name: string, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new SoakOptionsError(`--${name} must be ${integer ? 'a whole number' : 'a number'}, got "${raw}"`);
  }
  if (value < min || value > max) throw new SoakOptionsError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Undefined for --help. */
export function parseSoakOptions(argv: string[]): SoakOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        minutes: { type: 'string' },
        connections: { type: 'string' },
        via: { type: 'string' },
        channels: { type: 'string' },
        'publish-interval-ms': { type: 'string' },
        'sample-seconds': { type: 'string' },
        'reconnect-every': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new SoakOptionsError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const via = v.via ?? 'pushpin';
  if (via !== 'pushpin' && via !== 'edge') throw new SoakOptionsError(`--via must be pushpin or edge, got "${via}"`);
  return {
    minutes: number(v.minutes, 'minutes', 5, 0.1, 240, false),
    connections: number(v.connections, 'connections', 5000, 4, 20_000, true),
    via,
    channels: number(v.channels, 'channels', 10, 1, 1000, true),
    publishIntervalMs: number(v['publish-interval-ms'], 'publish-interval-ms', 1000, 50, 60_000, true),
    sampleSeconds: number(v['sample-seconds'], 'sample-seconds', 10, 1, 600, true),
    reconnectEverySeconds: number(v['reconnect-every'], 'reconnect-every', 120, 5, 100_000, true),
  };
}
