// The client's rules, scenario by scenario, on the bare state machine (no I/O, a hand-moved clock).
import { describe, expect, it } from 'vitest';
import { createTestbed, deliveredIds, message, subscribeFrames } from '../testing/machineTestbed.ts';

const jwt = (expSeconds: number): string => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url')}.c2ln`;

/** A WebSocket subscription to `c` that is live at position 10, on connection 1. */
function liveWebSocket(settings = {}) {
  const bed = createTestbed(settings);
  bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10' });
  const conn = bed.lastConn();
  bed.send({ type: 'opened', conn });
  bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '10' });
  return { bed, conn };
}

describe('WebSocket', () => {
  it('subscribes from its position, delivers in order, drops duplicates, and passes live-only messages without moving', () => {
    const { bed, conn } = liveWebSocket();
    expect(subscribeFrames(bed.effects)).toEqual([{ conn, channel: 'c', since: '10' }]);
    expect(bed.of('ready')).toEqual([{ type: 'ready', sub: 1 }]);
    for (const f of [message('c', 11, 10), message('c', 11, 10), message('c', undefined), message('c', 12, 11), message('c', 9)]) bed.frame(conn, f);
    expect(deliveredIds(bed.effects)).toEqual(['11', undefined, '12']);
    expect(bed.machine.subs.get(1)).toMatchObject({ position: '12', stats: { messages: 3, duplicates: 2 } });
  });

  it('on a gap leaves the connection, ignores what it still delivers, and subscribes again from its position on a new one', () => {
    const { bed, conn } = liveWebSocket();
    bed.frame(conn, message('c', 11, 10));
    // 12 was dropped on the way: 13 names it.
    const out = bed.frame(conn, message('c', 13, 12));
    expect(out).toContainEqual({ type: 'drop', conn });
    expect(out).toContainEqual(expect.objectContaining({ type: 'recovering', reason: 'gap', position: '11' }));
    bed.frame(conn, message('c', 14, 13));
    bed.wait(200);
    const next = bed.lastConn();
    expect(next).not.toBe(conn);
    bed.send({ type: 'opened', conn: next });
    expect(subscribeFrames(bed.effects).at(-1)).toEqual({ conn: next, channel: 'c', since: '11' });
    bed.frame(next, { type: 'subscribed', channel: 'c', lastId: '11' });
    for (const id of [12, 13, 14]) bed.frame(next, message('c', id, id - 1));
    expect(deliveredIds(bed.effects)).toEqual(['11', '12', '13', '14']);
    expect(bed.machine.subs.get(1)!.stats).toMatchObject({ reconnects: 1, recoveries: { gap: 1 } });
  });

  it('pings only when silent, and a pong showing the channel ahead makes it subscribe again', () => {
    const { bed, conn } = liveWebSocket();
    const ping = { type: 'send', conn, text: '{"type":"ping"}' };
    expect(bed.wait(1999)).not.toContainEqual(ping);
    bed.frame(conn, message('c', 11, 10));
    expect(bed.wait(1999)).not.toContainEqual(ping);
    expect(bed.wait(1)).toContainEqual(ping);
    bed.frame(conn, { type: 'pong', lastIds: { c: '11' } });
    expect(bed.of('drop')).toEqual([]);
    bed.wait(2000);
    const out = bed.frame(conn, { type: 'pong', lastIds: { c: '15' } });
    expect(out).toContainEqual({ type: 'drop', conn });
    expect(out).toContainEqual(expect.objectContaining({ type: 'recovering', reason: 'pong-behind', position: '11' }));
  });

  it('drops a connection with nothing at all for the idle time; a keep-alive (control pong) keeps it', () => {
    const { bed, conn } = liveWebSocket();
    bed.wait(2900);
    bed.send({ type: 'alive', conn });
    expect(bed.wait(2000)).not.toContainEqual({ type: 'drop', conn });
    expect(bed.wait(1000)).toContainEqual({ type: 'drop', conn });
    expect(bed.of('recovering').at(-1)).toMatchObject({ reason: 'silent' });
  });

  it('reports a reset from subscribed and continues from its `after`', () => {
    const bed = createTestbed();
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '3' });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    const reset = { reason: 'expired' as const, since: '3', after: '7' };
    bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '7', reset });
    bed.frame(conn, message('c', 8, 7));
    expect(bed.of('reset')).toEqual([{ type: 'reset', sub: 1, reset }]);
    expect(deliveredIds(bed.effects)).toEqual(['8']);
  });

  it('carries many channels on one connection and moves the overflow to another when the origin says too_many_subscriptions', () => {
    const bed = createTestbed();
    for (const [sub, channel] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) bed.send({ type: 'subscribe', sub, channel });
    expect(bed.of('open')).toHaveLength(1);
    const first = bed.lastConn();
    bed.send({ type: 'opened', conn: first });
    expect(subscribeFrames(bed.effects).map((f) => f.channel)).toEqual(['a', 'b', 'c']);
    bed.frame(first, { type: 'error', code: 'too_many_subscriptions', message: 'at most 2', channel: 'c' });
    const second = bed.lastConn();
    expect(second).not.toBe(first);
    bed.send({ type: 'subscribe', sub: 4, channel: 'd' });
    expect(bed.machine.conns.get(second)!.subs.map((s) => s.channel)).toEqual(['c', 'd']);
    bed.send({ type: 'opened', conn: second });
    expect(subscribeFrames(bed.effects).slice(3).map((f) => [f.conn, f.channel])).toEqual([[second, 'c'], [second, 'd']]);
  });

  it("cutting a subscription that has no connection right now leaves the others' alone", () => {
    const bed = createTestbed({ transports: ['poll'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'a', since: '1' });
    bed.send({ type: 'subscribe', sub: 2, channel: 'b', since: '1' });
    bed.send({ type: 'ended', conn: 1, refused: true });
    bed.send({ type: 'cut', sub: 1 });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn: 1 }]);
    bed.send({ type: 'cut' });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn: 1 }, { type: 'drop', conn: 2 }]);
  });

  it('puts a second subscription to the same channel on another connection', () => {
    const bed = createTestbed();
    bed.send({ type: 'subscribe', sub: 1, channel: 'a' });
    bed.send({ type: 'subscribe', sub: 2, channel: 'a' });
    expect(bed.of('open')).toHaveLength(2);
  });

  it('leaves a connection on which a subscribe got no answer for the subscribe timeout, and subscribes again on a new one', () => {
    // The connection stays alive (keep-alives, pongs) but the origin never answers the subscribe (its
    // session lost the pending subscribe): the subscription must not wait for ever.
    const bed = createTestbed({ idleTimeoutMs: 60_000, subscribeTimeoutMs: 4000 });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '10' });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    for (let i = 0; i < 3; i++) {
      bed.wait(1000);
      bed.send({ type: 'alive', conn });
    }
    expect(bed.of('drop')).toEqual([]);
    const out = bed.wait(1000);
    expect(out).toContainEqual({ type: 'drop', conn });
    expect(bed.of('recovering').at(-1)).toMatchObject({ sub: 1, reason: 'silent', position: '10' });
    bed.wait(1000);
    const next = bed.lastConn();
    expect(next).not.toBe(conn);
    bed.send({ type: 'opened', conn: next });
    expect(subscribeFrames(bed.effects).at(-1)).toEqual({ conn: next, channel: 'c', since: '10' });
    // Answered in time: nothing more happens.
    bed.frame(next, { type: 'subscribed', channel: 'c', lastId: '10' });
    bed.wait(10_000);
    expect(bed.of('drop')).toHaveLength(1);
  });

  it('repeats a subscribe after a retryable error with backoff, and fails on a final one', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'subscribe', sub: 2, channel: 'd', since: '5' });
    bed.frame(conn, { type: 'error', code: 'subscribe_busy', message: 'busy', channel: 'd' });
    expect(bed.of('recovering').at(-1)).toMatchObject({ sub: 2, reason: 'busy' });
    expect(subscribeFrames(bed.effects)).toHaveLength(2);
    bed.wait(100);
    expect(subscribeFrames(bed.effects).at(-1)).toEqual({ conn, channel: 'd', since: '5' });
    bed.frame(conn, { type: 'error', code: 'invalid_since', message: 'no', channel: 'd' });
    expect(bed.of('fail')).toEqual([{ type: 'fail', sub: 2, code: 'invalid_since', message: 'no' }]);
    expect(bed.machine.subs.has(2)).toBe(false);
    expect(bed.machine.conns.has(conn)).toBe(true);
  });

  it('unsubscribes on the connection it shares, and closes a connection left empty', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'subscribe', sub: 2, channel: 'd' });
    bed.send({ type: 'unsubscribe', sub: 1 });
    expect(bed.effects.at(-2)).toEqual({ type: 'send', conn, text: '{"type":"unsubscribe","channel":"c"}' });
    expect(bed.of('state').at(-1)).toMatchObject({ sub: 1, state: 'closed' });
    bed.send({ type: 'unsubscribe', sub: 2 });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
  });

  it('backs off with growing delays while connections fail, and starts over after a healthy one', () => {
    const bed = createTestbed({ random: () => 0.99 });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '1' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = bed.now;
      bed.send({ type: 'ended', conn: bed.lastConn(), refused: true });
      const opens = bed.of('open').length;
      while (bed.of('open').length === opens) bed.wait(1);
      delays.push(bed.now - before);
    }
    expect(delays).toEqual([198, 396, 792, 990]);
    expect(bed.machine.subs.get(1)!.stats.connectFailures).toBe(4);
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '1' });
    bed.frame(conn, message('c', 2, 1));
    bed.wait(1500);
    bed.frame(conn, message('c', 3, 2));
    const before = bed.now;
    bed.send({ type: 'ended', conn, code: 1006 });
    while (bed.of('open').length === 5) bed.wait(1);
    expect(bed.now - before).toBe(99);
  });

  it('refreshes a token function before exp on the same connection (the origin answers refreshed)', async () => {
    const bed = createTestbed({ idleTimeoutMs: 60_000 });
    const exp = Math.floor(bed.now / 1000) + 4;
    bed.send({ type: 'subscribe', sub: 1, channel: 'private-c', tokenFunction: true });
    expect(bed.of('fetch-token')).toHaveLength(1);
    expect(bed.of('open')).toHaveLength(0);
    bed.send({ type: 'token', sub: 1, token: jwt(exp) });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.frame(conn, { type: 'subscribed', channel: 'private-c', lastId: '4' });
    bed.wait(exp * 1000 - bed.now - 1001);
    expect(bed.of('fetch-token')).toHaveLength(1);
    bed.wait(1);
    expect(bed.of('fetch-token')).toHaveLength(2);
    bed.send({ type: 'token', sub: 1, token: jwt(exp + 60) });
    expect(subscribeFrames(bed.effects).at(-1)).toEqual({ conn, channel: 'private-c', since: '4', token: jwt(exp + 60) });
    bed.frame(conn, { type: 'refreshed', channel: 'private-c', expiresAt: exp + 60 });
    expect(bed.of('drop')).toEqual([]);
  });

  it('ends a subscription whose fixed token expired, saying how to keep it going; a function token is asked again', () => {
    const fixed = createTestbed();
    fixed.send({ type: 'subscribe', sub: 1, channel: 'c', token: 'x' });
    fixed.send({ type: 'opened', conn: fixed.lastConn() });
    fixed.frame(fixed.lastConn(), { type: 'subscribed', channel: 'c', lastId: '3' });
    fixed.frame(fixed.lastConn(), { type: 'error', code: 'token_expired', message: 'the token expired', channel: 'c' });
    expect(fixed.of('fail')[0]).toMatchObject({ code: 'token_expired', message: expect.stringContaining('give a function') });

    const bed = createTestbed();
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', tokenFunction: true });
    bed.send({ type: 'token', sub: 1, token: 'old' });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.frame(conn, { type: 'error', code: 'forbidden', message: 'nope', channel: 'c' });
    expect(bed.of('fetch-token')).toHaveLength(2);
    bed.send({ type: 'token', sub: 1, token: 'fresh' });
    bed.send({ type: 'opened', conn: bed.lastConn() });
    expect(subscribeFrames(bed.effects).at(-1)).toMatchObject({ token: 'fresh' });
    bed.frame(bed.lastConn(), { type: 'error', code: 'forbidden', message: 'nope', channel: 'c' });
    bed.send({ type: 'token', sub: 1, token: 'fresher' });
    bed.send({ type: 'opened', conn: bed.lastConn() });
    bed.frame(bed.lastConn(), { type: 'error', code: 'forbidden', message: 'still no', channel: 'c' });
    expect(bed.of('fail')).toEqual([{ type: 'fail', sub: 1, code: 'forbidden', message: 'still no' }]);
  });

  it('a refresh refused on a live subscription unsubscribes it, so the next token subscribes anew on the same connection', () => {
    const bed = createTestbed({ idleTimeoutMs: 60_000 });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', tokenFunction: true });
    bed.send({ type: 'token', sub: 1, token: 'first' });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '4' });
    bed.send({ type: 'subscribe', sub: 2, channel: 'other' });
    // A refresh in place that the origin refuses: it still holds the channel under the old grant.
    bed.send({ type: 'token', sub: 1, token: 'refused' });
    bed.frame(conn, { type: 'error', code: 'forbidden', message: 'no', channel: 'c' });
    expect(bed.effects.filter((e) => e.type === 'send' && e.text.includes('unsubscribe'))).toEqual([{ type: 'send', conn, text: '{"type":"unsubscribe","channel":"c"}' }]);
    bed.send({ type: 'token', sub: 1, token: 'fresh' });
    expect(subscribeFrames(bed.effects).at(-1)).toEqual({ conn, channel: 'c', since: '4', token: 'fresh' });
    bed.frame(conn, { type: 'subscribed', channel: 'c', lastId: '4' });
    bed.frame(conn, message('c', 5, 4));
    expect(deliveredIds(bed.effects)).toEqual(['5']);
  });

  it('rejects every publish that got no answer in time, and closes a connection left with nothing to do', () => {
    const bed = createTestbed({ publishTimeoutMs: 1000, idleTimeoutMs: 60_000 });
    bed.send({ type: 'publish', ref: 1, channel: 'a', data: 1 });
    bed.send({ type: 'publish', ref: 2, channel: 'b', data: 2 });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.wait(1000);
    expect(bed.of('publish-failed').map((e) => [e.ref, e.code])).toEqual([[1, 'timeout'], [2, 'timeout']]);
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(bed.of('send').filter((e) => e.text.includes('ping'))).toEqual([]);
  });

  it('answers publishes in order per channel, telling a publish error from a subscribe error', () => {
    const { bed, conn } = liveWebSocket();
    bed.send({ type: 'publish', ref: 7, channel: 'c', data: 1 });
    bed.send({ type: 'publish', ref: 8, channel: 'c', data: 2 });
    bed.send({ type: 'subscribe', sub: 2, channel: 'x' });
    bed.frame(conn, { type: 'published', channel: 'c', id: '11' });
    bed.frame(conn, { type: 'error', code: 'message_too_large', message: 'big', channel: 'c' });
    bed.send({ type: 'publish', ref: 9, channel: 'x', data: 3 });
    // The subscribe to x was sent first: the forbidden is its answer, not the publish's.
    bed.frame(conn, { type: 'error', code: 'forbidden', message: 'private', channel: 'x' });
    expect([...bed.of('published'), ...bed.of('publish-failed')]).toEqual([
      { type: 'published', ref: 7, id: '11' },
      { type: 'publish-failed', ref: 8, code: 'message_too_large', message: 'big' },
    ]);
    expect(bed.of('fail')).toMatchObject([{ sub: 2, code: 'forbidden' }]);
    bed.send({ type: 'cut' });
    expect(bed.of('publish-failed').at(-1)).toMatchObject({ ref: 9, code: 'connection_lost' });
  });
});

describe('streams and long-poll', () => {
  it('SSE: the id-only block gives the position; a reconnect resumes from the last id', () => {
    const bed = createTestbed({ transports: ['sse'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c' });
    // A stream opens at the end of the turn (several subscribes in one make one stream).
    expect(bed.of('open')).toEqual([]);
    bed.wait(0);
    const conn = bed.lastConn();
    expect(bed.of('open')[0]).toMatchObject({ transport: 'sse', channel: 'c', since: undefined });
    bed.send({ type: 'opened', conn });
    expect(bed.of('ready')).toEqual([]);
    bed.send({ type: 'position', conn, id: '20' });
    expect(bed.of('ready')).toHaveLength(1);
    bed.send({ type: 'item', conn, item: { kind: 'message', message: { id: '21', channel: 'c', data: 1, ts: 1 } } });
    bed.send({ type: 'ended', conn, detail: 'the stream ended' });
    bed.wait(200);
    expect(bed.of('open').at(-1)).toMatchObject({ transport: 'sse', since: '21' });
  });

  it('a stream applies the gap rule to messages that name `prev`: it leaves the connection and comes back from its position', () => {
    for (const transport of ['sse', 'stream'] as const) {
      const bed = createTestbed({ transports: [transport] });
      bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '20' });
      bed.wait(0);
      const conn = bed.lastConn();
      bed.send({ type: 'opened', conn });
      const item = (id: string, prev?: string) => ({ kind: 'message' as const, message: { id, channel: 'c', data: id, ts: 1 }, ...(prev ? { prev } : {}) });
      bed.send({ type: 'item', conn, item: item('21', '20') });
      bed.send({ type: 'item', conn, item: item('21', '20') }); // a duplicate is still only dropped
      bed.send({ type: 'item', conn, item: item('23', '22') }); // 22 never came
      bed.send({ type: 'item', conn, item: item('24', '23') }); // what the left connection still delivers does not count
      expect(bed.of('message').map((m) => m.message.id)).toEqual(['21']);
      expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
      expect(bed.of('recovering')).toMatchObject([{ reason: 'gap', position: '21' }]);
      bed.wait(200);
      expect(bed.of('open').at(-1)).toMatchObject({ transport, since: '21' });
      // A message without `prev` (from an origin that did not name it yet) is taken as it comes.
      const linked = createTestbed({ transports: [transport] });
      linked.send({ type: 'subscribe', sub: 1, channel: 'c', since: '20' });
      linked.wait(0);
      linked.send({ type: 'opened', conn: linked.lastConn() });
      linked.send({ type: 'item', conn: linked.lastConn(), item: item('23') });
      expect(linked.of('message').map((m) => m.message.id)).toEqual(['23']);
      expect(linked.of('drop')).toEqual([]);
    }
  });

  it('NDJSON and long-poll learn the position from the history first when started without one', () => {
    for (const transport of ['stream', 'poll'] as const) {
      const bed = createTestbed({ transports: [transport] });
      bed.send({ type: 'subscribe', sub: 1, channel: 'c' });
      expect(bed.of('locate')).toEqual([{ type: 'locate', sub: 1, channel: 'c', token: undefined }]);
      bed.send({ type: 'located', sub: 1, lastId: '30' });
      expect(bed.of('open')).toMatchObject([{ transport, since: '30' }]);
    }
  });

  it('a silent stream asks the history, and reconnects from its position when a message after it exists', () => {
    const bed = createTestbed({ transports: ['stream'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '5' });
    bed.wait(0);
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.wait(1500);
    bed.send({ type: 'alive', conn });
    expect(bed.wait(500)).toEqual([{ type: 'check', conn, channel: 'c', since: '5', token: undefined }]);
    bed.send({ type: 'checked', conn, since: '5', behind: false });
    expect(bed.of('drop')).toEqual([]);
    bed.wait(2000);
    expect(bed.of('check')).toHaveLength(2);
    bed.send({ type: 'checked', conn, since: '5', behind: true });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(bed.of('recovering')).toMatchObject([{ reason: 'history-behind', position: '5' }]);
  });

  it('a stream refreshes its token by reconnecting from its position; 403 with a fixed token ends it', () => {
    const bed = createTestbed({ transports: ['sse'], idleTimeoutMs: 60_000 });
    const exp = Math.floor(bed.now / 1000) + 8;
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '5', tokenFunction: true });
    bed.send({ type: 'token', sub: 1, token: jwt(exp) });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.wait(exp * 1000 - bed.now - 2000);
    expect(bed.of('fetch-token')).toHaveLength(2);
    bed.send({ type: 'token', sub: 1, token: jwt(exp + 60) });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(bed.of('open').at(-1)).toMatchObject({ since: '5', token: jwt(exp + 60) });
    expect(bed.of('recovering')).toMatchObject([{ reason: 'token-refresh' }]);

    const fixed = createTestbed({ transports: ['stream'] });
    fixed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '5', token: 'x' });
    fixed.wait(0);
    fixed.send({ type: 'ended', conn: fixed.lastConn(), status: 403, detail: 'HTTP 403: the token has expired' });
    expect(fixed.of('fail')).toMatchObject([{ code: 'forbidden' }]);
  });

  it('long-poll: each answer moves the position and the next poll follows at once', () => {
    const bed = createTestbed({ transports: ['poll'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '5' });
    const first = bed.lastConn();
    bed.send({ type: 'opened', conn: first });
    expect(bed.of('ready')).toHaveLength(1);
    bed.send({ type: 'polled', conn: first, body: { messages: [{ id: '6', channel: 'c', data: 1, ts: 1 }, { channel: 'c', data: 'live', ts: 1 }], lastId: '6' } });
    expect(bed.of('open').at(-1)).toMatchObject({ since: '6' });
    bed.send({ type: 'opened', conn: bed.lastConn() });
    bed.send({ type: 'polled', conn: bed.lastConn(), body: { messages: [{ channel: 'c', data: 'live', ts: 2 }] } });
    expect(bed.of('open').at(-1)).toMatchObject({ since: '6' });
    expect(deliveredIds(bed.effects)).toEqual(['6', undefined, undefined]);
    expect(bed.machine.subs.get(1)!.stats.reconnects).toBe(0);
    bed.send({ type: 'opened', conn: bed.lastConn() });
    // A hold never answered is left alone; polls carry no keep-alives, so only the history check looks at it.
    bed.wait(10_000);
    expect(bed.of('drop')).toHaveLength(2);
  });
});

describe('auto: fallback and upgrade', () => {
  it('falls back when the WebSocket cannot connect, keeps the position, and tries the WebSocket again later', () => {
    const bed = createTestbed({ transports: ['websocket', 'sse', 'poll'], firstUpgradeAfterMs: 10_000, idleTimeoutMs: 60_000 });
    bed.send({ type: 'subscribe', sub: 1, channel: 'c', since: '9' });
    bed.send({ type: 'ended', conn: bed.lastConn(), refused: true, detail: 'HTTP 403' });
    bed.wait(1000);
    bed.send({ type: 'ended', conn: bed.lastConn(), refused: true, detail: 'HTTP 403' });
    expect(bed.of('recovering').at(-1)).toMatchObject({ reason: 'fallback' });
    bed.wait(1000);
    expect(bed.of('open').at(-1)).toMatchObject({ transport: 'sse', since: '9' });
    const sse = bed.lastConn();
    bed.send({ type: 'opened', conn: sse });
    bed.send({ type: 'item', conn: sse, item: { kind: 'message', message: { id: '10', channel: 'c', data: 1, ts: 1 } } });
    expect(bed.of('state').at(-1)).toMatchObject({ state: 'open', transport: 'sse' });
    bed.wait(9000);
    expect(bed.of('drop').at(-1)).toEqual({ type: 'drop', conn: sse });
    expect(bed.of('recovering').at(-1)).toMatchObject({ reason: 'upgrade', position: '10' });
    expect(bed.of('open').at(-1)).toMatchObject({ transport: 'websocket' });
    bed.send({ type: 'opened', conn: bed.lastConn() });
    expect(subscribeFrames(bed.effects).at(-1)).toMatchObject({ since: '10' });
  });
});
