// Presence on the client's state machine: what a subscription asks of the channel's presence goes
// into its subscribe (WebSocket) or its URL (streams), and member events reach only the
// subscriptions that asked for them, on every transport, without moving any position.
import { describe, expect, it } from 'vitest';
import type { PresenceEvent } from '../../protocol/index.ts';
import { createTestbed } from '../testing/machineTestbed.ts';

const joined: PresenceEvent = { action: 'member_joined', channel: 'c', clientId: 'ann', info: { n: 1 }, ts: 5 };

describe('client presence', () => {
  it('asks the WebSocket subscribe to enter and to send member events, and hands those to the subscription', () => {
    const bed = createTestbed();
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10', presence: { enter: true, events: true } });
    bed.send({ type: 'subscribe', sub: 2, channel: 'd', since: '10' });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    const sent = bed.of('send').map((e) => JSON.parse(e.text) as Record<string, unknown>);
    expect(sent).toEqual([
      { type: 'subscribe', channel: 'c', since: '10', presence: true, presenceEvents: true },
      { type: 'subscribe', channel: 'd', since: '10' },
    ]);
    bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '10' });
    bed.frame(conn, { type: 'subscribed', channel: 'd', lastId: '10' });
    bed.frame(conn, { type: 'presence', ...joined });
    bed.frame(conn, { type: 'presence', ...joined, channel: 'd' });
    expect(bed.of('presence')).toEqual([{ type: 'presence', sub: 1, event: joined }]);
    expect(bed.machine.subs.get(1)!.position).toBe('10');
  });

  it('puts member events in a stream\'s URL request, and takes them from its items', () => {
    const bed = createTestbed({ transports: ['sse'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10', presence: { enter: false, events: true } });
    bed.wait(0);
    expect(bed.of('open')).toEqual([{ type: 'open', conn: 1, transport: 'sse', channel: 'c', since: '10', token: undefined, presenceEvents: true }]);
    bed.send({ type: 'opened', conn: 1 });
    bed.send({ type: 'item', conn: 1, item: { kind: 'presence', event: joined } });
    expect(bed.of('presence')).toEqual([{ type: 'presence', sub: 1, event: joined }]);
    // A stream that did not ask gets none (an event it never asked for is ignored).
    const plain = createTestbed({ transports: ['stream'] });
    plain.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10' });
    plain.wait(0);
    expect(plain.of('open')[0]).not.toHaveProperty('presenceEvents');
    plain.send({ type: 'opened', conn: 1 });
    plain.send({ type: 'item', conn: 1, item: { kind: 'presence', event: joined } });
    expect(plain.of('presence')).toEqual([]);
  });

  it('ends a subscription whose presence the origin refuses, naming why', () => {
    const bed = createTestbed();
    bed.send({ type: 'subscribe', sub: 1, channel: 'news', presence: { enter: true, events: false } });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.frame(conn, { type: 'error', code: 'presence_refused', message: 'presence takes a private channel', channel: 'news' });
    expect(bed.of('fail')).toEqual([{ type: 'fail', sub: 1, code: 'presence_refused', message: 'presence takes a private channel' }]);
  });
});
