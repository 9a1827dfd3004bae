// `npm run soak` options, parsed with node:util parseArgs and validated: a bad value stops the run
// with a message naming the option, before anything is started.
import { parseArgs } from 'node:util';
import { TRANSPORT_NAMES, type TransportName } from '../../protocol/index.ts';
import { TRANSPORT_MIX } from '../fleet/transportMix.ts';
import {
  DEFAULT_PUSHPIN_PROFILE,
  parsePushpinProfileName,
  PUSHPIN_PROFILE_ENV,
  PUSHPIN_PROFILE_NAMES,
  PushpinProfileError,
  pushpinProfileFromEnv,
  type PushpinProfileName,
} from '../pushpin/pushpinProfiles.ts';

export interface SoakOptions {
  minutes: number;
  connections: number;
  via: 'pushpin' | 'edge';
  channels: number;
  publishIntervalMs: number;
  sampleSeconds: number;
  /** Each client is cut (and comes back with its position) once per this many seconds on average. */
  reconnectEverySeconds: number;
  /** Clients of each transport (they add up to `connections`). */
  clientsPerTransport: Record<TransportName, number>;
  /** Pushpin's delivery settings (scripts/pushpin/pushpinProfiles.ts). */
  pushpinProfile: PushpinProfileName;
}

export class SoakOptionsError extends Error {
  override name = 'SoakOptionsError';
}

export const SOAK_HELP = `Usage: npm run soak -- [options]

A bounded soak of the local stack: fanout-forward clients (client/) of every transport (WebSocket,
SSE, NDJSON stream, long-poll) held through Pushpin (or the edge), messages published through the
origin, clients cut at random and coming back with their position; memory of the origin, Pushpin
(and the edge) sampled. Ends by itself; exit code 1 when any client lost a message or handed one on
twice.

Options:
  --minutes N              how long to publish (default 5; 0.1-240)
  --connections N          clients in all (default 5000; 4-20000)
  --mix websocket=W,sse=W,stream=W,poll=W
                           how the clients split over the transports, by weight (default the
                           fan-out benchmark's mix, sse=45,websocket=35,stream=18,poll=2; a transport
                           left out gets none; ws is short for websocket; all four =1 is the even
                           split)
  --via pushpin|edge       connect straight to Pushpin (default) or through the edge on the local Compute host
  --channels N             channels the clients spread over (default 10; 1-1000)
  --publish-interval-ms N  one message to every channel this often (default 1000; 50-60000)
  --sample-seconds N       memory sample interval (default 10; 1-600)
  --reconnect-every N      each client is cut once per N seconds on average (default 120; 5-100000)
  --pushpin-profile NAME   Pushpin's delivery settings: ${PUSHPIN_PROFILE_NAMES.join(', ')} (default
                           \$${PUSHPIN_PROFILE_ENV}, else ${DEFAULT_PUSHPIN_PROFILE}; scripts/pushpin/pushpinProfiles.ts)
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

/** Undefined for --help. `env`: where PUSHPIN_PROFILE is read when --pushpin-profile is not given. */
export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv = {}): SoakOptions | undefined {
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
        mix: { type: 'string' },
        'pushpin-profile': { type: 'string' },
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
  const connections = number(v.connections, 'connections', 5000, 4, 20_000, true);
  return {
    minutes: number(v.minutes, 'minutes', 5, 0.1, 240, false),
    connections,
    via,
    channels: number(v.channels, 'channels', 10, 1, 1000, true),
    publishIntervalMs: number(v['publish-interval-ms'], 'publish-interval-ms', 1000, 50, 60_000, true),
    sampleSeconds: number(v['sample-seconds'], 'sample-seconds', 10, 1, 600, true),
    reconnectEverySeconds: number(v['reconnect-every'], 'reconnect-every', 120, 5, 100_000, true),
    clientsPerTransport: splitClients(connections, v.mix === undefined ? DEFAULT_MIX : parseMix(v.mix)),
    pushpinProfile: profileOption(v['pushpin-profile'], env),
  };
}

function profileOption(value: string | undefined, env: NodeJS.ProcessEnv): PushpinProfileName {
  try {
    return value === undefined ? pushpinProfileFromEnv(env) : parsePushpinProfileName(value, '--pushpin-profile');
  } catch (error) {
    if (error instanceof PushpinProfileError) throw new SoakOptionsError(error.message);
    throw error;
  }
}

/**
 * The default split: the fleet's transport mix, the fan-out benchmark's too (long-polling as the
 * fallback it is). An even split, 1,250 long-pollers re-polling after every message, is over what
 * Pushpin 1.36 carries: each poll passes zurl, and when more than 100 new requests wait for it the
 * proxy answers 502 at once, which strands shared next-link fetches (see docs/reliability.md, Soak).
 */
export const DEFAULT_MIX: Readonly<Record<TransportName, number>> = TRANSPORT_MIX;

/** `sse=45,websocket=35,...` as weights (`ws` names the WebSocket too, as the fan-out benchmark does). */
export function parseMix(raw: string): Record<TransportName, number> {
  const weights = Object.fromEntries(TRANSPORT_NAMES.map((t) => [t, 0])) as Record<TransportName, number>;
  for (const part of raw.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) throw new SoakOptionsError(`--mix must look like sse=45,websocket=35,stream=18,poll=2, got "${raw}"`);
    const transport = (match[1] === 'ws' ? 'websocket' : match[1]) as TransportName;
    if (!TRANSPORT_NAMES.includes(transport)) throw new SoakOptionsError(`--mix: unknown transport "${match[1]}" (${TRANSPORT_NAMES.join(', ')})`);
    weights[transport] = Number(match[2]);
  }
  if (TRANSPORT_NAMES.every((t) => weights[t] === 0)) throw new SoakOptionsError('--mix gives every transport a weight of 0');
  return weights;
}

/** `connections` split by weight, rounding so that the counts add up exactly (largest remainders first). */
export function splitClients(connections: number, weights: Record<TransportName, number>): Record<TransportName, number> {
  const total = TRANSPORT_NAMES.reduce((sum, t) => sum + weights[t], 0);
  const exact = TRANSPORT_NAMES.map((t) => ({ t, share: (connections * weights[t]) / total }));
  const counts = Object.fromEntries(exact.map(({ t, share }) => [t, Math.floor(share)])) as Record<TransportName, number>;
  let left = connections - TRANSPORT_NAMES.reduce((sum, t) => sum + counts[t], 0);
  for (const { t } of [...exact].sort((a, b) => (b.share % 1) - (a.share % 1))) {
    if (left-- <= 0) break;
    counts[t]++;
  }
  return counts;
}
