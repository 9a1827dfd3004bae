import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPresenceClientId, isPresenceInfo, MAX_CHANNEL_NAME_LENGTH, PRESENCE_INFO_MAX_BYTES } from '../../protocol/index.ts';
import {
  MAX_PRESENCE_MEMBERS_PER_CONNECTION,
  MAX_WS_SUBSCRIPTIONS,
  newFilterUser,
  ORIGIN_MAX_HEADER_BYTES,
  readSessionState,
  sessionStateHeaders,
  STATE_HEADER_BUDGET_BYTES,
  type StateSealing,
  type WsSessionState,
} from './wsSessionState.ts';
import { createWsStateSeal } from './wsStateSeal.ts';

const SEALING: StateSealing = { seal: createWsStateSeal('a-test-state-secret'), connectionId: 'connection-1' };

/** What the proxy does with the meta: Set-Meta-X on a response comes back as Meta-X on the next request. */
function metaOf(headers: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(headers).map(([name, value]) => [name.replace(/^Set-Meta-/, 'meta-').toLowerCase(), value]));
}

function roundTrip(state: WsSessionState, sealing = SEALING): ReturnType<typeof readSessionState> {
  const meta = metaOf(sessionStateHeaders(state, SEALING));
  return readSessionState((name) => meta.get(name.toLowerCase()) || undefined, sealing);
}

const STATE: WsSessionState = {
  user: 'Ab3dEf6hIj9L',
  subscriptions: ['news', 'a.b-c_d', 'private-a'],
  pending: [
    { channel: 'chat', since: '1796000000000042', barrier: 3, startedMs: 1796000000000, cursor: '1796000000000050', more: true, rounds: 2, behind: 1, gated: true },
    { channel: 'feed', barrier: 3, startedMs: 1796000000001, more: false, rounds: 0, behind: 0, gated: false },
  ],
  barrier: 3,
  grants: [
    { channel: 'private-a', exp: 1796000100, publish: true },
    { channel: 'chat', exp: 1796000200, publish: false },
  ],
};

describe('WebSocket session state in connection meta', () => {
  it('survives the round trip through the proxy', () => {
    expect(roundTrip(STATE)).toEqual({ state: STATE, seal: 'valid' });
    const empty: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };
    expect(roundTrip(empty)).toEqual({ state: empty, seal: 'valid' });
  });

  it('carries the presence entries, each member written once, and a connection sealed before presence existed still verifies', () => {
    const info = { name: 'Ann, "the" admin', n: [1, 2] };
    const withPresence: WsSessionState = {
      ...STATE,
      presence: [
        { channel: 'private-a', clientId: 'ann', info },
        { channel: 'chat', clientId: 'ann', info },
        { channel: 'feed', clientId: 'bob:x,y' },
      ],
      leaseAt: 1796000000123,
      presenceEvents: ['private-a', 'news'],
    };
    expect(roundTrip(withPresence)).toEqual({ state: withPresence, seal: 'valid' });
    const headers = sessionStateHeaders(withPresence, SEALING);
    expect(headers['Set-Meta-Mems']!.split(',')).toHaveLength(2);
    // The meta of an origin before presence: six values under the seal, no presence meta.
    const order = ['meta-user', 'meta-chans', 'meta-subs', 'meta-pend', 'meta-barrier', 'meta-grants'];
    const old = metaOf(sessionStateHeaders(STATE, SEALING));
    for (const name of ['meta-mems', 'meta-pres', 'meta-lease', 'meta-pevents']) expect(old.get(name)).toBe('');
    old.set('meta-seal', SEALING.seal.sign(SEALING.connectionId, order.map((name) => old.get(name)!)));
    expect(readSessionState((name) => old.get(name) || undefined, SEALING)).toEqual({ state: STATE, seal: 'valid' });
    // Presence meta cannot be added to, or dropped from, a sealed state.
    const added = new Map(old).set('meta-pres', '0:0').set('meta-mems', Buffer.from('["mallory"]').toString('base64url'));
    expect(readSessionState((name) => added.get(name) || undefined, SEALING).seal).toBe('invalid');
    const dropped = metaOf(headers);
    dropped.delete('meta-pres');
    expect(readSessionState((name) => dropped.get(name) || undefined, SEALING).seal).toBe('invalid');
  });

  it('is not read when its seal does not verify: forged, moved to another connection, or sealed under another key', () => {
    const meta = metaOf(sessionStateHeaders(STATE, SEALING));
    const forged = new Map(meta).set('meta-grants', '2:9999999999:1');
    expect(readSessionState((name) => forged.get(name), SEALING)).toEqual({ state: { subscriptions: [], pending: [], barrier: 0, grants: [] }, seal: 'invalid' });
    expect(roundTrip(STATE, { ...SEALING, connectionId: 'connection-2' }).seal).toBe('invalid');
    expect(roundTrip(STATE, { ...SEALING, seal: createWsStateSeal('another-secret') }).seal).toBe('invalid');
    const unsealed = new Map(meta);
    unsealed.delete('meta-seal');
    expect(readSessionState((name) => unsealed.get(name), SEALING).seal).toBe('invalid');
    expect(readSessionState(() => undefined, SEALING)).toEqual({ state: { subscriptions: [], pending: [], barrier: 0, grants: [] }, seal: 'absent' });
  });

  it('drops anything malformed instead of trusting it, even sealed', () => {
    const values: Record<string, string> = {
      'meta-user': 'short',
      'meta-chans': 'a,b,bad:name,ok,dup,private-a,private-d',
      'meta-subs': '0,1,0,,2,99,x',
      'meta-pend': '3::1:5::0:0:0:0,2::1:5::0:0:0:0,4::1:5::0:0:0:0,4::2:6::0:0:0:0,0:abc:1:5::0:0:0:0,1::notanumber:5::0:0:0:0,1::1:5::0:0:0:2',
      'meta-barrier': '-1',
      'meta-grants': '5:1796000100:1,5:1796000200:0,2:1:1,6:soon:1,6:1796000100:yes,6:1796000300:0',
    };
    const order = ['meta-user', 'meta-chans', 'meta-subs', 'meta-pend', 'meta-barrier', 'meta-grants'];
    values['meta-seal'] = SEALING.seal.sign(SEALING.connectionId, order.map((name) => values[name]!));
    expect(readSessionState((name) => values[name], SEALING).state).toEqual({
      subscriptions: ['a', 'b'],
      pending: [
        { channel: 'ok', barrier: 1, startedMs: 5, more: false, rounds: 0, behind: 0, gated: false },
        { channel: 'dup', barrier: 1, startedMs: 5, more: false, rounds: 0, behind: 0, gated: false },
      ],
      barrier: 0,
      grants: [
        { channel: 'private-a', exp: 1796000100, publish: true },
        { channel: 'private-d', exp: 1796000300, publish: false },
      ],
    });
  });

  it('never lets a header value fail the parse (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 6, maxLength: 6 }), (raw) => {
        const names = ['meta-user', 'meta-chans', 'meta-subs', 'meta-pend', 'meta-barrier', 'meta-grants'];
        const headers: Record<string, string> = Object.fromEntries(names.map((n, i) => [n, raw[i]!]));
        headers['meta-seal'] = SEALING.seal.sign(SEALING.connectionId, raw);
        const { state } = readSessionState((name) => headers[name], SEALING);
        expect(roundTrip(state).state).toEqual(state);
      }),
    );
  });

  it('fits the header budget at the most subscriptions a connection may be allowed, whatever their state', () => {
    const worst = (n: number): WsSessionState => {
      const names = Array.from({ length: n }, (_, i) => `${String(i).padStart(3, '0')}-${'n'.repeat(MAX_CHANNEL_NAME_LENGTH - 4)}`);
      return {
        user: 'Ab3dEf6hIj9L',
        subscriptions: [],
        barrier: 999_999_999,
        grants: names.map((channel) => ({ channel, exp: 999_999_999_999, publish: true })),
        // Every channel in presence, as the most members a connection may be, each at its largest.
        presence: names.map((channel, i) => ({
          channel,
          clientId: `${i % MAX_PRESENCE_MEMBERS_PER_CONNECTION}${'\u{10FFFF}'.repeat(63)}`,
          info: { i: i % MAX_PRESENCE_MEMBERS_PER_CONNECTION, pad: '\u00e9'.repeat((PRESENCE_INFO_MAX_BYTES - 20) / 2) },
        })),
        leaseAt: 999_999_999_999_999,
        presenceEvents: names,
        pending: names.map((channel) => ({
          channel,
          since: '999999999999999999',
          barrier: 999_999_999,
          startedMs: 999_999_999_999_999,
          cursor: '999999999999999999',
          more: true,
          rounds: 999_999_999,
          behind: 999_999_999,
          gated: true,
        })),
      };
    };
    for (const entry of worst(2).presence!) expect(isPresenceClientId(entry.clientId) && isPresenceInfo(entry.info)).toBe(true);
    const bytes = (state: WsSessionState) =>
      Object.entries(sessionStateHeaders(state, SEALING)).reduce((sum, [name, value]) => sum + name.length - 'Set-'.length + value.length + 4, 0);
    expect(bytes(worst(MAX_WS_SUBSCRIPTIONS))).toBeLessThanOrEqual(STATE_HEADER_BUDGET_BYTES);
    // Fanout's 20: a few KB (9,448 bytes before channel names were written once), presence included.
    expect(bytes(worst(20))).toBeLessThan(8 * 1024);
    // What is left of the origin's limit for the client's own headers.
    expect(ORIGIN_MAX_HEADER_BYTES - STATE_HEADER_BUDGET_BYTES).toBeGreaterThanOrEqual(32 * 1024);
  });

  it('makes distinct 12-character filter users', () => {
    const users = new Set(Array.from({ length: 2000 }, newFilterUser));
    expect(users.size).toBe(2000);
    for (const user of users) expect(user).toMatch(/^[A-Za-z0-9]{12}$/);
  });
});
