// Skip-self on the client's state machine: a publish asks for it, and the subscription on the same
// WebSocket moves its position through its own message instead of taking the next one for a gap.
import { describe, expect, it } from 'vitest';
import { createTestbed, deliveredIds, message } from '../testing/machineTestbed.ts';

function liveWebSocket() {
  const bed = createTestbed();
  bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10' });
  const conn = bed.lastConn();
  bed.send({ type: 'opened', conn });
  bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '10' });
  return { bed, conn };
}

describe('skip-self', () => {
  it('passes its own message, answered before the next one, without a gap and without delivering it', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'publish', ref: 7, channel: 'c', data: 'mine', skipSelf: true });
    expect(JSON.parse(bed.of('send').at(-1)!.text)).toEqual({ type: 'publish', channel: 'c', data: 'mine', skipSelf: true });
    bed.frame(conn, { type: 'published', channel: 'c', id: '11', prev: '10' });
    expect(bed.of('published')).toEqual([{ type: 'published', ref: 7, id: '11' }]);
    expect(bed.machine.subs.get(1)!.position).toBe('11');
    bed.frame(conn, message('c', 12, 11));
    // Should it come anyway (a replay), it is a duplicate.
    bed.frame(conn, message('c', 11, 10));
    expect(deliveredIds(bed.effects)).toEqual(['12']);
    expect(bed.of('drop')).toEqual([]);
  });

  it('passes it when the answer comes before the message it follows, and in a pong', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'publish', ref: 7, channel: 'c', data: 'mine', skipSelf: true });
    bed.frame(conn, { type: 'published', channel: 'c', id: '12', prev: '11' });
    expect(bed.machine.subs.get(1)!.position).toBe('10');
    bed.frame(conn, message('c', 11, 10));
    // Silent now: the pong names 12 (the own message) as the channel's last id; nothing is behind.
    bed.wait(2000);
    bed.frame(conn, { type: 'pong', lastIds: { c: '12' } });
    expect(bed.of('recovering')).toEqual([]);
    expect(bed.machine.subs.get(1)!.position).toBe('12');
    bed.frame(conn, message('c', 13, 12));
    expect(deliveredIds(bed.effects)).toEqual(['11', '13']);
  });

  it('takes a message naming an unpassed own message as a gap when the position is elsewhere', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'publish', ref: 7, channel: 'c', data: 'mine', skipSelf: true });
    bed.frame(conn, { type: 'published', channel: 'c', id: '12', prev: '11' });
    // 11 never came: 13 follows 12, and the position is 10.
    const out = bed.frame(conn, message('c', 13, 12));
    expect(out).toContainEqual(expect.objectContaining({ type: 'recovering', reason: 'gap', position: '10' }));
  });
});
