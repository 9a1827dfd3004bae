import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newFilterUser, readSessionState, sessionStateHeaders, type WsSessionState } from './wsSessionState.ts';

/** What the proxy does with the meta: Set-Meta-X on a response comes back as Meta-X on the next request. */
function roundTrip(state: WsSessionState): WsSessionState {
  const headers = sessionStateHeaders(state);
  const meta = new Map(Object.entries(headers).map(([name, value]) => [name.replace(/^Set-Meta-/, 'meta-').toLowerCase(), value]));
  return readSessionState((name) => meta.get(name.toLowerCase()) || undefined);
}

describe('WebSocket session state in connection meta', () => {
  it('survives the round trip through the proxy', () => {
    const state: WsSessionState = {
      user: 'Ab3dEf6hIj9L',
      subscriptions: ['news', 'a.b-c_d'],
      pending: [
        { channel: 'chat', since: '1796000000000042', barrier: 3, startedMs: 1796000000000, cursor: '1796000000000050', more: true, rounds: 2, behind: 1, gated: true },
        { channel: 'feed', barrier: 3, startedMs: 1796000000001, more: false, rounds: 0, behind: 0, gated: false },
      ],
      barrier: 3,
      grants: [
        { channel: 'private-a', exp: 1796000100, publish: true },
        { channel: 'private-b', exp: 1796000200, publish: false },
      ],
    };
    expect(roundTrip(state)).toEqual(state);
    const empty: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };
    expect(roundTrip(empty)).toEqual(empty);
  });

  it('drops anything malformed instead of trusting it', () => {
    const state = readSessionState(
      (name) =>
        ({
          'meta-user': 'short',
          'meta-subs': 'a, b,a,,bad:name',
          'meta-pend': 'ok::1:5::0:0:0:0,bad:name:x:1:2,dup::1:5::0:0:0:0,dup::2:6::0:0:0:0,x:abc:1:5::0:0:0:0,y::notanumber:5::0:0:0:0,z::1:5::0:0:0:2',
          'meta-barrier': '-1',
          'meta-grants': 'private-a:1796000100:1,private-a:1796000200:0,bad:name:1:1,private-b:soon:1,private-c:1796000100:yes,private-d:1796000300:0',
        })[name],
    );
    expect(state).toEqual({
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
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), fc.string(), (user, subs, pend, barrier, grants) => {
        const headers: Record<string, string> = { 'meta-user': user, 'meta-subs': subs, 'meta-pend': pend, 'meta-barrier': barrier, 'meta-grants': grants };
        const state = readSessionState((name) => headers[name]);
        expect(roundTrip(state)).toEqual(state);
      }),
    );
  });

  it('makes distinct 12-character filter users', () => {
    const users = new Set(Array.from({ length: 2000 }, newFilterUser));
    expect(users.size).toBe(2000);
    for (const user of users) expect(user).toMatch(/^[A-Za-z0-9]{12}$/);
  });
});
