// The guarantee as a property: whatever a (simulated) proxy does - delivers, duplicates, drops
// messages, cuts connections, goes on delivering on connections the client left, lets the history
// expire - the client hands on stored messages in strictly increasing order, none twice, and once the
// proxy behaves again it has delivered every message after its start, except ranges a reset reported
// lost. Every resubscribe starts from the last id delivered (or a reset's `after`).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TransportName } from '../../protocol/index.ts';
import type { Effect } from './clientMachine.ts';
import { createSimulatedProxy, type ProxyConn } from '../testing/simulatedProxy.ts';

type Action = 'publish' | 'deliver' | 'drop' | 'duplicate' | 'cut' | 'stale' | 'expire' | 'time';
const ACTIONS: Action[] = ['publish', 'publish', 'deliver', 'deliver', 'deliver', 'drop', 'duplicate', 'cut', 'stale', 'expire', 'time'];

interface SimConn extends ProxyConn {
  /** The last id this connection sent (or placed the client at); undefined until subscribed. */
  cursor: number | undefined;
  sent: number[];
  /** A stream that stopped delivering, or a long-poll whose answer was lost. */
  stuck: boolean;
}

const CHANNEL = 'c';
const env = (id: number) => ({ id: String(id), channel: CHANNEL, data: id, ts: 1 });

/** Runs the actions, then lets the proxy behave until the client caught up; returns what the client did. */
function simulate(transport: TransportName, actions: Action[], picks: number[]) {
  const history = { last: 100, floor: 100 };
  const emitted: string[] = [];
  const resets: Array<{ since: string; after: string }> = [];
  const sinces: Array<string | undefined> = [];

  /** Where a subscribe from `since` starts, and the reset it gets. */
  const plan = (since: string | undefined) => {
    if (since === undefined) return { cursor: history.last };
    const s = Number(since);
    return s < history.floor ? { cursor: history.floor, reset: { reason: 'expired' as const, since, after: String(history.floor) } } : { cursor: s };
  };

  const handle = (e: Effect): void => {
    switch (e.type) {
      case 'open': {
        const conn: SimConn = { id: e.conn, alive: true, cursor: undefined, sent: [], stuck: false };
        conns.set(e.conn, conn);
        answer({ type: 'opened', conn: e.conn });
        if (transport === 'websocket') break;
        sinces.push(e.since);
        const p = plan(e.since);
        conn.cursor = p.cursor;
        if (p.reset) answer({ type: 'item', conn: e.conn, item: { kind: 'reset', channel: CHANNEL, reset: p.reset } });
        if (transport === 'sse') answer({ type: 'position', conn: e.conn, id: String(p.cursor) });
        break;
      }
      case 'send': {
        const conn = conns.get(e.conn);
        const frame = JSON.parse(e.text) as { type: string; since?: string };
        if (!conn?.alive) break;
        if (frame.type === 'subscribe') {
          sinces.push(frame.since);
          const p = plan(frame.since);
          conn.cursor = p.cursor;
          answer({ type: 'frame', conn: conn.id, frame: { type: 'subscribed', channel: CHANNEL, lastId: String(p.cursor), ...(p.reset ? { reset: p.reset } : {}) } });
        } else if (frame.type === 'ping' && conn.cursor !== undefined) {
          answer({ type: 'frame', conn: conn.id, frame: { type: 'pong', lastIds: { [CHANNEL]: String(history.last) } } });
        }
        break;
      }
      case 'check':
        answer({ type: 'checked', conn: e.conn, since: e.since, behind: history.last > Number(e.since) });
        break;
      case 'locate':
        answer({ type: 'located', sub: e.sub, lastId: String(history.last) });
        break;
      case 'message':
        if (e.message.id !== undefined) emitted.push(e.message.id);
        break;
      case 'reset':
        resets.push(e.reset);
        break;
    }
  };
  // Its wait keeps every open stream and WebSocket alive (stream keep-alives, WebSocket control pongs).
  const proxy = createSimulatedProxy<SimConn>({ transport, seed: 1, picks, handle });
  const { bed, conns, choose, answer, run, wait } = proxy;
  const current = (): SimConn | undefined => [...conns.values()].reverse().find((c) => c.alive && c.cursor !== undefined);

  /** The proxy sends the connection its next message (a long-poll: everything after its position). */
  const deliver = (conn: SimConn): void => {
    if (conn.cursor! >= history.last || conn.stuck) return;
    if (transport === 'poll') {
      const messages = [];
      for (let id = conn.cursor! + 1; id <= history.last; id++) messages.push(env(id));
      conn.alive = false;
      return run({ type: 'polled', conn: conn.id, body: { messages, lastId: String(history.last) } });
    }
    const id = ++conn.cursor!;
    conn.sent.push(id);
    run(transport === 'websocket' ? { type: 'frame', conn: conn.id, frame: { type: 'message', prev: String(id - 1), ...env(id) } } : { type: 'item', conn: conn.id, item: { kind: 'message', message: env(id) } });
  };

  const startAt = '100';
  run({ type: 'subscribe', sub: 1, channel: CHANNEL, since: startAt });
  for (const action of actions) {
    const conn = current();
    switch (action) {
      case 'publish':
        history.last++;
        break;
      case 'deliver':
        if (conn) deliver(conn);
        break;
      case 'drop':
        // A WebSocket: the proxy drops the connection's next message (it does when the client's buffer
        // is full). A stream or a long-poll cannot skip one (Pushpin checks prev-id on their history
        // channel and recovers a gap itself); what it does is stop delivering: the connection stays
        // open, silent (a stranded session, a lost poll answer).
        if (conn && transport !== 'websocket') conn.stuck = true;
        else if (conn && conn.cursor! < history.last) conn.cursor!++;
        break;
      case 'duplicate':
        if (conn && conn.sent.length > 0) {
          const id = conn.sent[choose(conn.sent.length)]!;
          run(transport === 'websocket' ? { type: 'frame', conn: conn.id, frame: { type: 'message', prev: String(id - 1), ...env(id) } } : { type: 'item', conn: conn.id, item: { kind: 'message', message: env(id) } });
        }
        break;
      case 'cut':
        if (conn) proxy.cut(conn);
        break;
      case 'stale': {
        // A connection the client left still delivers (frames already on their way).
        const c = proxy.leftConn();
        if (c) {
          const id = history.last + 1 - choose(3);
          run(transport === 'websocket' ? { type: 'frame', conn: c.id, frame: { type: 'message', prev: String(id - 1), ...env(id) } } : { type: 'item', conn: c.id, item: { kind: 'message', message: env(id) } });
        }
        break;
      }
      case 'expire':
        history.floor = Math.min(history.last, history.floor + 1 + choose(3));
        break;
      case 'time':
        wait(1 + choose(2500));
        break;
    }
  }
  // The proxy behaves again: every connection delivers what it has, time passes for the checks.
  for (let round = 0; round < 200; round++) {
    const conn = current();
    if (conn) while (conn.alive && conn.cursor! < history.last && !conn.stuck) deliver(conn);
    if (bed.machine.subs.get(1)?.position === String(history.last) && conn?.cursor === history.last) break;
    wait(700);
  }
  return { emitted, resets, sinces, last: history.last, position: bed.machine.subs.get(1)?.position, startAt };
}

describe('the delivery guarantee under any proxy behaviour', () => {
  for (const transport of ['websocket', 'sse', 'stream', 'poll'] as const) {
    it(`${transport}: in order, none twice, every drop recovered from the last id, nothing lost but what a reset reported`, () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...ACTIONS), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }), (actions, picks) => {
          const run = simulate(transport, actions, picks);
          // Strictly increasing (so none twice).
          for (let i = 1; i < run.emitted.length; i++) expect(Number(run.emitted[i])).toBeGreaterThan(Number(run.emitted[i - 1]));
          // Every subscribe or reconnect resumed from a position the client had: its start, an id it
          // delivered, or a reset's `after`.
          const positions = new Set([run.startAt, ...run.emitted, ...run.resets.map((r) => r.after)]);
          for (const since of run.sinces) expect(positions.has(since!)).toBe(true);
          // Caught up: everything after the start was delivered or reported lost by a reset.
          expect(run.position).toBe(String(run.last));
          const lost = (id: number) => run.resets.some((r) => id > Number(r.since) && id <= Number(r.after));
          const delivered = new Set(run.emitted.map(Number));
          for (let id = Number(run.startAt) + 1; id <= run.last; id++) expect(delivered.has(id) || lost(id), `id ${id}`).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }
});
