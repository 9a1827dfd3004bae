// Several channels on one SSE or NDJSON stream, scenario by scenario, on the bare state machine.
import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../../protocol/index.ts';
import { createTestbed, deliveredIds, type Testbed } from '../testing/machineTestbed.ts';
import type { Effect } from './clientMachine.ts';

const jwt = (expSeconds: number): string => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url')}.c2ln`;

const message = (channel: string, id: number, prev?: number): StreamItem => ({
  kind: 'message',
  message: { id: String(id), channel, data: id, ts: 1 },
  ...(prev !== undefined ? { prev: String(prev) } : {}),
});
const position = (channel: string, id: number): StreamItem => ({ kind: 'position', channel, lastId: String(id) });
const opens = (bed: Testbed) => bed.of('open');

/** Subscriptions (id, channel, since) on `transport`, in one turn; returns the stream opened for them. */
function streamOf(bed: Testbed, subs: Array<[number, string, string?]>, extra: Record<string, unknown> = {}): number {
  for (const [sub, channel, since] of subs) bed.send({ type: 'subscribe', sub, channel, ...(since ? { since } : {}), ...extra });
  bed.wait(0);
  return bed.lastConn();
}

describe('several channels on one stream', () => {
  for (const transport of ['sse', 'stream'] as const) {
    it(`${transport}: subscribes made in one turn open one stream, each channel with its position`, () => {
      const bed = createTestbed({ transports: [transport] });
      for (const [sub, channel, since] of [[1, 'a', '5'], [2, 'b', undefined], [3, 'c', '0']] as const) {
        bed.send({ type: 'subscribe', sub, channel, ...(since ? { since } : {}) });
      }
      expect(opens(bed)).toEqual([]);
      // NDJSON (in these settings) asks the history where b is first.
      if (transport === 'stream') bed.send({ type: 'located', sub: 2, lastId: '40' });
      bed.wait(0);
      expect(opens(bed)).toEqual([
        { type: 'open', conn: 1, transport, channels: [{ channel: 'a', since: '5' }, { channel: 'b', since: transport === 'stream' ? '40' : undefined }, { channel: 'c', since: '0' }], token: undefined },
      ]);
    });
  }

  it('takes each item for its channel: positions, messages, resets, the gap rule per channel', () => {
    const bed = createTestbed({ transports: ['sse'] });
    const conn = streamOf(bed, [[1, 'a', '5'], [2, 'b'], [3, 'c', '3']]);
    bed.send({ type: 'opened', conn });
    // a and c know their positions; b learns its own from its position event.
    expect(bed.of('ready').map((r) => r.sub)).toEqual([1, 3]);
    // The id-only block holds the whole stream's position: not a channel's.
    bed.send({ type: 'position', conn, id: 'a:5,b:40,c:3' });
    expect(bed.machine.subs.get(2)!.position).toBeUndefined();
    bed.send({ type: 'item', conn, item: position('b', 40) });
    bed.send({ type: 'item', conn, item: { kind: 'reset', channel: 'c', reset: { reason: 'expired', since: '3', after: '8' } } });
    for (const it of [message('a', 6, 5), message('b', 41, 40), message('c', 9, 8), message('a', 7, 6), message('b', 41, 40)]) bed.send({ type: 'item', conn, item: it });
    expect(bed.of('ready').map((r) => r.sub)).toEqual([1, 3, 2]);
    expect(deliveredIds(bed.effects, 1)).toEqual(['6', '7']);
    expect(deliveredIds(bed.effects, 2)).toEqual(['41']);
    expect(deliveredIds(bed.effects, 3)).toEqual(['9']);
    expect(bed.of('reset')).toEqual([{ type: 'reset', sub: 3, reset: { reason: 'expired', since: '3', after: '8' } }]);
    expect(bed.machine.subs.get(2)!.stats.duplicates).toBe(1);
    // 43 names 42 on b, which never came: the stream is left, and every channel comes back from its own position.
    bed.send({ type: 'item', conn, item: message('b', 43, 42) });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(bed.of('recovering').map((r) => [r.sub, r.reason])).toEqual([[1, 'gap'], [2, 'gap'], [3, 'gap']]);
    bed.wait(1000);
    expect(opens(bed)).toHaveLength(2);
    expect(opens(bed)[1]).toMatchObject({ channels: [{ channel: 'a', since: '7' }, { channel: 'b', since: '41' }, { channel: 'c', since: '9' }] });
  });

  it('a subscribe while the stream is open reopens it once with every position; the others stay open', () => {
    const bed = createTestbed({ transports: ['stream'] });
    const conn = streamOf(bed, [[1, 'a', '5'], [2, 'b', '7']]);
    bed.send({ type: 'opened', conn });
    bed.send({ type: 'item', conn, item: message('a', 6, 5) });
    const statesBefore = bed.of('state').length;
    bed.send({ type: 'subscribe', sub: 3, channel: 'c', since: '1' });
    bed.send({ type: 'subscribe', sub: 4, channel: 'd', since: '2' });
    expect(bed.of('drop')).toEqual([]);
    bed.wait(0);
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(opens(bed)).toHaveLength(2);
    expect(opens(bed)[1]).toMatchObject({ channels: [{ channel: 'a', since: '6' }, { channel: 'b', since: '7' }, { channel: 'c', since: '1' }, { channel: 'd', since: '2' }] });
    // a and b were not down: no state change for them, a `regroup` recovery for the record.
    expect(bed.of('state').slice(statesBefore).filter((e) => e.sub <= 2)).toEqual([]);
    expect(bed.of('recovering').filter((r) => r.sub <= 2).map((r) => [r.sub, r.reason, r.position])).toEqual([[1, 'regroup', '6'], [2, 'regroup', '7']]);
    expect(bed.machine.subs.get(1)!.stats.recoveries).toEqual({ regroup: 1 });
  });

  it('an unsubscribe reopens it without the channel (once for several); the last one leaves it', () => {
    const bed = createTestbed({ transports: ['sse'] });
    const conn = streamOf(bed, [[1, 'a', '5'], [2, 'b', '7'], [3, 'c', '9']]);
    bed.send({ type: 'opened', conn });
    bed.send({ type: 'unsubscribe', sub: 1 });
    bed.send({ type: 'unsubscribe', sub: 3 });
    bed.wait(0);
    expect(opens(bed)).toHaveLength(2);
    // One channel left: its own stream (GET /events/b).
    expect(opens(bed)[1]).toMatchObject({ channel: 'b', since: '7' });
    expect(opens(bed)[1]).not.toHaveProperty('channels');
    bed.send({ type: 'unsubscribe', sub: 2 });
    bed.wait(0);
    expect(bed.of('drop').map((d) => d.conn)).toEqual([conn, bed.lastConn()]);
    expect(opens(bed)).toHaveLength(2);
    expect(bed.machine.conns.size).toBe(0);
  });

  it('groups by token: no token, the same token (one stream each), another token (its own)', () => {
    const bed = createTestbed({ transports: ['sse'] });
    bed.send({ type: 'subscribe', sub: 1, channel: 'a' });
    bed.send({ type: 'subscribe', sub: 2, channel: 'private-b', token: 'T', tokenKey: 7 });
    bed.send({ type: 'subscribe', sub: 3, channel: 'c' });
    bed.send({ type: 'subscribe', sub: 4, channel: 'private-d', token: 'T', tokenKey: 7 });
    bed.send({ type: 'subscribe', sub: 5, channel: 'private-e', token: 'U', tokenKey: 8 });
    bed.wait(0);
    expect(opens(bed).map((o) => [o.channels?.map((c) => c.channel) ?? [o.channel], o.token])).toEqual([
      [['a', 'c'], undefined],
      [['private-b', 'private-d'], 'T'],
      [['private-e'], 'U'],
    ]);
  });

  it('packs under the proxy subscriptions per connection: 10 public channels a stream, 9 with a token, 6 with member events', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `ch${i}`);
    const sizes = (extra: Record<string, unknown>, n: number): number[] => {
      const bed = createTestbed({ transports: ['stream'] });
      names(n).forEach((channel, i) => bed.send({ type: 'subscribe', sub: i + 1, channel, since: '1', ...extra }));
      bed.wait(0);
      return opens(bed).map((o) => o.channels?.length ?? 1);
    };
    expect(sizes({}, 21)).toEqual([10, 10, 1]);
    expect(sizes({ token: 'T', tokenKey: 1 }, 10)).toEqual([9, 1]);
    expect(sizes({ presence: { enter: false, events: true } }, 7)).toEqual([6, 1]);
  });

  it('puts a second subscription to the same channel on another stream', () => {
    const bed = createTestbed({ transports: ['sse'] });
    streamOf(bed, [[1, 'a', '1'], [2, 'a', '1'], [3, 'b', '1']]);
    expect(opens(bed).map((o) => o.channels?.map((c) => c.channel) ?? [o.channel])).toEqual([['a', 'b'], ['a']]);
  });

  it('a refusal naming one channel ends that subscription (a fixed token); the others reopen at once without it', () => {
    const bed = createTestbed({ transports: ['sse'] });
    const conn = streamOf(bed, [[1, 'private-a', '1'], [2, 'private-b', '1'], [3, 'private-c', '1']], { token: 'T', tokenKey: 1 });
    bed.send({ type: 'ended', conn, status: 403, channel: 'private-b', detail: 'HTTP 403: the token does not grant private-b' });
    expect(bed.of('fail')).toEqual([{ type: 'fail', sub: 2, code: 'forbidden', message: expect.stringContaining('does not grant private-b') }]);
    expect(opens(bed).at(-1)).toMatchObject({ channels: [{ channel: 'private-a' }, { channel: 'private-c' }] });
    expect(bed.of('recovering').map((r) => [r.sub, r.reason])).toEqual([[1, 'regroup'], [3, 'regroup']]);
  });

  it('a 400 naming fewer subscriptions per connection than planned packs the streams under that', () => {
    const bed = createTestbed({ transports: ['sse'] });
    const conn = streamOf(bed, [[1, 'a', '1'], [2, 'b', '1'], [3, 'c', '1']]);
    bed.send({ type: 'ended', conn, status: 400, limit: 4, detail: 'HTTP 400: this stream of 3 channels needs 6 proxy subscriptions and a connection may hold 4' });
    expect(bed.of('fail')).toEqual([]);
    expect(opens(bed).slice(1).map((o) => o.channels?.map((c) => c.channel) ?? [o.channel])).toEqual([['a', 'b'], ['c']]);
    // Any other 400 ends them, with the origin's words.
    const other = createTestbed({ transports: ['sse'] });
    const c2 = streamOf(other, [[1, 'a', '1'], [2, 'b', '1']]);
    other.send({ type: 'ended', conn: c2, status: 400, detail: 'HTTP 400: something else' });
    expect(other.of('fail').map((f) => [f.sub, f.code])).toEqual([[1, 'bad_request'], [2, 'bad_request']]);
  });

  it('one token function for several channels: one fetch, one stream; a refresh reopens it once', () => {
    const bed = createTestbed({ transports: ['stream'], idleTimeoutMs: 60_000 });
    const exp = Math.floor(bed.now / 1000) + 8;
    for (const [sub, channel] of [[1, 'private-a'], [2, 'private-b'], [3, 'private-c']] as const) {
      bed.send({ type: 'subscribe', sub, channel, since: '1', tokenFunction: true, tokenKey: 5 });
    }
    expect(bed.of('fetch-token')).toEqual([{ type: 'fetch-token', sub: 1 }]);
    bed.send({ type: 'token', sub: 1, token: jwt(exp) });
    expect(opens(bed)).toEqual([
      { type: 'open', conn: 1, transport: 'stream', channels: ['private-a', 'private-b', 'private-c'].map((channel) => ({ channel, since: '1' })), token: jwt(exp) },
    ]);
    bed.send({ type: 'opened', conn: 1 });
    bed.wait(exp * 1000 - bed.now - 2000);
    expect(bed.of('fetch-token')).toHaveLength(2);
    bed.send({ type: 'token', sub: bed.of('fetch-token')[1]!.sub, token: jwt(exp + 60) });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn: 1 }]);
    expect(opens(bed)).toHaveLength(2);
    expect(opens(bed)[1]).toMatchObject({ token: jwt(exp + 60) });
    // The subscription whose fetch is in flight may go: the answer still serves the others.
    bed.send({ type: 'ended', conn: 2, status: 403, channel: 'private-a', detail: 'HTTP 403: the token has expired' });
    expect(bed.of('fetch-token').at(-1)).toEqual({ type: 'fetch-token', sub: 1 });
    bed.send({ type: 'unsubscribe', sub: 1 });
    bed.send({ type: 'token', sub: 1, token: jwt(exp + 120) });
    expect(opens(bed).at(-1)).toMatchObject({ channels: [{ channel: 'private-b' }, { channel: 'private-c' }], token: jwt(exp + 120) });
  });

  it('the token-expired notice of a stream: a fresh token, then one stream again for all its channels', () => {
    const bed = createTestbed({ transports: ['sse'], idleTimeoutMs: 60_000 });
    for (const [sub, channel] of [[1, 'private-a'], [2, 'b']] as const) bed.send({ type: 'subscribe', sub, channel, since: '1', tokenFunction: true, tokenKey: 5 });
    bed.send({ type: 'token', sub: 1, token: jwt(Math.floor(bed.now / 1000) + 600) });
    const conn = bed.lastConn();
    bed.send({ type: 'opened', conn });
    bed.send({ type: 'item', conn, item: { kind: 'expired', channel: 'private-a' } });
    expect(bed.of('fetch-token')).toHaveLength(2);
    bed.send({ type: 'token', sub: 1, token: jwt(Math.floor(bed.now / 1000) + 1200) });
    bed.wait(1000);
    expect(opens(bed)).toHaveLength(2);
    expect(opens(bed)[1]).toMatchObject({ channels: [{ channel: 'private-a' }, { channel: 'b' }] });
  });

  it('a silent stream asks the history for each channel; one behind leaves it', () => {
    const bed = createTestbed({ transports: ['stream'] });
    const conn = streamOf(bed, [[1, 'a', '5'], [2, 'b', '7']]);
    bed.send({ type: 'opened', conn });
    bed.send({ type: 'alive', conn });
    const checks = bed.wait(2000).filter((e): e is Extract<Effect, { type: 'check' }> => e.type === 'check');
    expect(checks.map((c) => [c.channel, c.since])).toEqual([['a', '5'], ['b', '7']]);
    bed.send({ type: 'checked', conn, channel: 'a', since: '5', behind: false });
    expect(bed.of('drop')).toEqual([]);
    bed.send({ type: 'checked', conn, channel: 'b', since: '7', behind: true });
    expect(bed.of('drop')).toEqual([{ type: 'drop', conn }]);
    expect(bed.of('recovering').at(-1)).toMatchObject({ reason: 'history-behind', detail: expect.stringContaining('on b') });
  });

  it('a cut brings every channel back together, onto one stream', () => {
    const bed = createTestbed({ transports: ['sse'], random: Math.random });
    const conn = streamOf(bed, [[1, 'a', '5'], [2, 'b', '7'], [3, 'c', '9']]);
    bed.send({ type: 'opened', conn });
    bed.send({ type: 'ended', conn, detail: 'the stream ended' });
    bed.wait(2000);
    expect(opens(bed)).toHaveLength(2);
    expect(opens(bed)[1]).toMatchObject({ channels: [{ channel: 'a', since: '5' }, { channel: 'b', since: '7' }, { channel: 'c', since: '9' }] });
  });
});
