// The guarantee per channel on a stream of several, as a property: whatever a (simulated) proxy does
// to one channel or the whole stream - delivers, skips a message of one channel, duplicates, stops,
// cuts, goes on delivering on a stream the client left, lets one channel's history expire - and
// while channels join and leave, each subscription hands on its channel's stored messages in strictly
// increasing order, none twice, resumes only from positions it had, and once the proxy behaves again
// has delivered every message after its start except ranges a reset reported lost. The channels stay
// on one stream: never two at a time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../../protocol/index.ts';
import type { Effect } from './clientMachine.ts';
import { createSimulatedProxy, type ProxyConn } from '../testing/simulatedProxy.ts';

type Action = 'publish' | 'deliver' | 'skip' | 'stuck' | 'duplicate' | 'cut' | 'stale' | 'expire' | 'time' | 'join' | 'leave';
const ACTIONS: Action[] = ['publish', 'publish', 'publish', 'deliver', 'deliver', 'deliver', 'deliver', 'skip', 'stuck', 'duplicate', 'cut', 'stale', 'expire', 'time', 'join', 'leave'];

const START = 100;
const CHANNELS = ['a', 'b', 'c', 'd'];
/** Subscription id per channel: a, b, c from the start; d joins, c may leave. */
const SUB = { a: 1, b: 2, c: 3, d: 4 } as Record<string, number>;

interface SimConn extends ProxyConn {
  /** Per channel: the last id this stream sent (or placed the client at), and what it sent. */
  cursor: Map<string, number>;
  sent: Array<[string, number]>;
  /** The proxy stopped delivering on this stream (it stays open, silent). */
  stuck: boolean;
}

interface ChannelRun {
  emitted: number[];
  resets: Array<{ since: string; after: string }>;
  sinces: Array<string | undefined>;
}

function simulate(transport: 'sse' | 'stream', actions: Action[], picks: number[]) {
  const history = new Map(CHANNELS.map((c) => [c, { last: START, floor: START }]));
  const runs = new Map(CHANNELS.map((c): [string, ChannelRun] => [c, { emitted: [], resets: [], sinces: [] }]));
  const subscribed = new Set<string>();
  let mostStreams = 0;
  const channelOfSub = (sub: number) => CHANNELS.find((c) => SUB[c] === sub)!;

  const handle = (e: Effect): void => {
    switch (e.type) {
      case 'open': {
        const asked = e.channels ?? [{ channel: e.channel!, since: e.since }];
        const conn: SimConn = { id: e.conn, alive: true, cursor: new Map(), sent: [], stuck: false };
        conns.set(e.conn, conn);
        answer({ type: 'opened', conn: e.conn });
        for (const { channel, since } of asked) {
          runs.get(channel)!.sinces.push(since);
          const h = history.get(channel)!;
          let cursor = h.last;
          if (since !== undefined) {
            const s = Number(since);
            cursor = s;
            if (s < h.floor) {
              cursor = h.floor;
              const reset = { reason: 'expired' as const, since, after: String(h.floor) };
              answer({ type: 'item', conn: e.conn, item: { kind: 'reset', channel, reset } });
            }
          }
          conn.cursor.set(channel, cursor);
          // The origin places each channel (SSE on a stream of one: the id-only block).
          if (transport === 'sse' && !e.channels) answer({ type: 'position', conn: e.conn, id: String(cursor) });
          else answer({ type: 'item', conn: e.conn, item: { kind: 'position', channel, lastId: String(cursor) } });
        }
        break;
      }
      case 'check':
        answer({ type: 'checked', conn: e.conn, channel: e.channel, since: e.since, behind: history.get(e.channel)!.last > Number(e.since) });
        break;
      case 'locate':
        answer({ type: 'located', sub: e.sub, lastId: String(history.get(channelOfSub(e.sub))!.last) });
        break;
      case 'message':
        if (e.message.id !== undefined) runs.get(channelOfSub(e.sub))!.emitted.push(Number(e.message.id));
        break;
      case 'reset':
        runs.get(channelOfSub(e.sub))!.resets.push(e.reset);
        break;
    }
  };
  const afterRun = (): void => {
    const streams = [...bed.machine.conns.values()].filter((c) => c.transport === transport).length;
    mostStreams = Math.max(mostStreams, streams);
  };
  const proxy = createSimulatedProxy<SimConn>({ transport, seed: 7, picks, handle, afterRun });
  const { bed, conns, choose, answer, run, wait } = proxy;
  const current = (): SimConn | undefined => [...conns.values()].reverse().find((c) => c.alive);
  const item = (channel: string, id: number): StreamItem => ({ kind: 'message', message: { id: String(id), channel, data: id, ts: 1 }, prev: String(id - 1) });

  /** The stream sends its next message on `channel`. */
  const deliver = (conn: SimConn, channel: string): void => {
    const cursor = conn.cursor.get(channel);
    if (cursor === undefined || conn.stuck || cursor >= history.get(channel)!.last) return;
    conn.cursor.set(channel, cursor + 1);
    conn.sent.push([channel, cursor + 1]);
    run({ type: 'item', conn: conn.id, item: item(channel, cursor + 1) });
  };

  const subscribe = (channel: string) => {
    subscribed.add(channel);
    run({ type: 'subscribe', sub: SUB[channel]!, channel, since: String(START) });
  };
  for (const channel of ['a', 'b', 'c']) subscribe(channel);
  proxy.react(bed.wait(0));
  for (const action of actions) {
    const conn = current();
    const channel = CHANNELS[choose(CHANNELS.length)]!;
    switch (action) {
      case 'publish':
        history.get(channel)!.last++;
        break;
      case 'deliver':
        if (conn) deliver(conn, channel);
        break;
      case 'skip': {
        // A stream hold has no sequence check: the proxy can drop one channel's message (a full buffer).
        const cursor = conn?.cursor.get(channel);
        if (conn && cursor !== undefined && cursor < history.get(channel)!.last) conn.cursor.set(channel, cursor + 1);
        break;
      }
      case 'stuck':
        if (conn) conn.stuck = true;
        break;
      case 'duplicate':
        if (conn && conn.sent.length > 0) {
          const [ch, id] = conn.sent[choose(conn.sent.length)]!;
          run({ type: 'item', conn: conn.id, item: item(ch, id) });
        }
        break;
      case 'cut':
        if (conn) proxy.cut(conn);
        break;
      case 'stale': {
        const left = proxy.leftConn();
        if (left) run({ type: 'item', conn: left.id, item: item(channel, history.get(channel)!.last + 1 - choose(3)) });
        break;
      }
      case 'expire': {
        const h = history.get(channel)!;
        h.floor = Math.min(h.last, h.floor + 1 + choose(3));
        break;
      }
      case 'time':
        wait(1 + choose(2500));
        break;
      case 'join':
        if (!subscribed.has('d')) subscribe('d');
        break;
      case 'leave':
        if (subscribed.has('c')) {
          subscribed.delete('c');
          run({ type: 'unsubscribe', sub: SUB.c! });
        }
        break;
    }
  }
  // The proxy behaves again: the stream delivers everything, time passes for the checks.
  const caughtUp = () => [...subscribed].every((c) => bed.machine.subs.get(SUB[c]!)?.position === String(history.get(c)!.last));
  for (let round = 0; round < 300 && !caughtUp(); round++) {
    const conn = current();
    if (conn) for (const c of subscribed) while (conn.alive && !conn.stuck && (conn.cursor.get(c) ?? Infinity) < history.get(c)!.last) deliver(conn, c);
    wait(700);
  }
  return { runs, history, subscribed, positions: new Map([...subscribed].map((c) => [c, bed.machine.subs.get(SUB[c]!)?.position])), mostStreams };
}

describe('the delivery guarantee per channel on a stream of several', () => {
  for (const transport of ['sse', 'stream'] as const) {
    it(`${transport}: each channel in order, none twice, resumed from its own positions, nothing lost but what a reset reported; one stream at a time`, () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...ACTIONS), { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 20 }), (actions, picks) => {
          const sim = simulate(transport, actions, picks);
          expect(sim.mostStreams).toBeLessThanOrEqual(1);
          for (const [channel, run] of sim.runs) {
            for (let i = 1; i < run.emitted.length; i++) expect(run.emitted[i], channel).toBeGreaterThan(run.emitted[i - 1]!);
            const had = new Set([String(START), ...run.emitted.map(String), ...run.resets.map((r) => r.after)]);
            for (const since of run.sinces) expect(had.has(since!), `${channel} resumed from ${since}`).toBe(true);
            if (!sim.subscribed.has(channel)) continue;
            const last = sim.history.get(channel)!.last;
            expect(sim.positions.get(channel), channel).toBe(String(last));
            const lost = (id: number) => run.resets.some((r) => id > Number(r.since) && id <= Number(r.after));
            const delivered = new Set(run.emitted);
            for (let id = START + 1; id <= last; id++) expect(delivered.has(id) || lost(id), `${channel} ${id}`).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
