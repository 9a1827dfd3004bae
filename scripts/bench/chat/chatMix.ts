// Which transport each of the chat benchmark's subscribers uses: shares per transport (the fan-out
// benchmark's mix by default), turned into counts by largest remainder and dealt out smoothly, so any
// run of consecutive subscribers (one channel's, one load process's) holds about its share of each.
import type { TransportName } from '../../../client/index.ts';
import { MIX_SHARES } from '../fanout/fanoutOptions.ts';

/** The names on the command line (the fan-out benchmark's): `ws` is the client's `websocket`. */
export const MIX_TRANSPORTS = ['sse', 'ws', 'stream', 'poll'] as const;
export type MixTransport = (typeof MIX_TRANSPORTS)[number];

/** Shares per transport, summing to 1. */
export type Mix = Readonly<Record<MixTransport, number>>;

export const DEFAULT_MIX: Mix = { ...MIX_SHARES };

export function clientTransport(t: MixTransport): TransportName {
  return t === 'ws' ? 'websocket' : t;
}

/** `sse=45,ws=35,stream=18,poll=2` (any positive weights, normalised) or one transport name; a string says what is wrong. */
export function parseMix(raw: string): Mix | string {
  const weights: Record<MixTransport, number> = { sse: 0, ws: 0, stream: 0, poll: 0 };
  const text = raw.trim();
  if ((MIX_TRANSPORTS as readonly string[]).includes(text)) return { ...weights, [text]: 1 };
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) return `"${part}" is not transport=weight (transports: ${MIX_TRANSPORTS.join(', ')})`;
    const [, name, weight] = match;
    if (!(MIX_TRANSPORTS as readonly string[]).includes(name!)) return `unknown transport "${name}" (transports: ${MIX_TRANSPORTS.join(', ')})`;
    weights[name as MixTransport] += Number(weight);
  }
  const total = MIX_TRANSPORTS.reduce((sum, t) => sum + weights[t], 0);
  if (!(total > 0)) return 'the weights add up to nothing';
  return Object.fromEntries(MIX_TRANSPORTS.map((t) => [t, weights[t] / total])) as Mix;
}

export function formatMix(mix: Mix): string {
  return MIX_TRANSPORTS.filter((t) => mix[t] > 0)
    .map((t) => `${t}=${Math.round(mix[t] * 1000) / 10}`)
    .join(',');
}

/** How many of n subscribers each transport gets: floor of its share, the rest by largest remainder. */
export function mixCounts(mix: Mix, n: number): Record<MixTransport, number> {
  const counts = { sse: 0, ws: 0, stream: 0, poll: 0 };
  const remainders: Array<{ t: MixTransport; r: number }> = [];
  let given = 0;
  for (const t of MIX_TRANSPORTS) {
    const exact = mix[t] * n;
    counts[t] = Math.floor(exact);
    given += counts[t];
    remainders.push({ t, r: exact - counts[t] });
  }
  remainders.sort((a, b) => b.r - a.r);
  for (let i = 0; given < n; i++, given++) counts[remainders[i % remainders.length]!.t]++;
  return counts;
}

/**
 * The transports of n subscribers in order: smooth weighted round robin over the counts (each step
 * every transport gains its count, the one ahead is picked and pays n), so each transport is spread
 * as evenly as its count allows.
 */
export function transportsInOrder(mix: Mix, n: number): MixTransport[] {
  const counts = mixCounts(mix, n);
  const credit = { sse: 0, ws: 0, stream: 0, poll: 0 };
  const out: MixTransport[] = [];
  for (let i = 0; i < n; i++) {
    let pick: MixTransport | undefined;
    for (const t of MIX_TRANSPORTS) {
      if (counts[t] === 0) continue;
      credit[t] += counts[t];
      if (pick === undefined || credit[t] > credit[pick]) pick = t;
    }
    credit[pick!] -= n;
    out.push(pick!);
  }
  return out;
}
