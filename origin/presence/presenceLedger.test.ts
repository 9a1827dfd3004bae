import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_NAMES, type TransportName } from '../../protocol/index.ts';
import { compareUtf8, createLedger, expireLeases, memberPage, releaseLease, touchLease, type ChannelLedger } from './presenceLedger.ts';
import type { LeaseMember, PresenceChange } from './presenceStore.ts';

const touch = (ledger: ChannelLedger, connection: string, member: LeaseMember | undefined, at: number, ttl = 1000, transport: TransportName = 'websocket', max = 100) => {
  const out: PresenceChange[] = [];
  const result = touchLease(ledger, connection, transport, member, at + ttl, at, max, out);
  return { result, out };
};
const types = (changes: PresenceChange[]) => changes.map((c) => (c.clientId ? `${c.type}:${c.clientId}` : c.type));

describe('the presence ledger', () => {
  it('announces the first connection and the first member, and the last ones leaving, in listener order', () => {
    const ledger = createLedger('c');
    expect(types(touch(ledger, 'ws:a', { clientId: 'alice' }, 0).out)).toEqual(['channel_occupied', 'member_added:alice']);
    expect(types(touch(ledger, 'ws:b', { clientId: 'alice', info: { tab: 2 } }, 0).out)).toEqual([]);
    expect(ledger.members.get('alice')).toEqual({ connections: 2, info: { tab: 2 } });
    expect(types(touch(ledger, 'lease:x', undefined, 0, 1000, 'sse').out)).toEqual([]);
    expect(ledger.byTransport).toEqual({ websocket: 2, sse: 1, stream: 0, poll: 0 });
    const out: PresenceChange[] = [];
    releaseLease(ledger, 'ws:a', 5, out);
    releaseLease(ledger, 'lease:x', 5, out);
    expect(out).toEqual([]);
    releaseLease(ledger, 'ws:b', 6, out);
    expect(out).toEqual([
      { type: 'member_removed', channel: 'c', clientId: 'alice', info: { tab: 2 }, reason: 'left', ts: 6 },
      { type: 'channel_vacated', channel: 'c', reason: 'left', ts: 6 },
    ]);
    // An unknown connection, or one released twice, changes nothing.
    releaseLease(ledger, 'ws:b', 7, out);
    expect(out).toHaveLength(2);
  });

  it('expires leases not renewed in time (a renewal moves the end), and says so', () => {
    const ledger = createLedger('c');
    touch(ledger, 'ws:a', { clientId: 'alice' }, 0, 100);
    touch(ledger, 'ws:b', { clientId: 'bob' }, 0, 100);
    touch(ledger, 'ws:b', { clientId: 'bob' }, 90, 100);
    const out: PresenceChange[] = [];
    expireLeases(ledger, 99, out);
    expect(out).toEqual([]);
    expireLeases(ledger, 100, out);
    expect(types(out)).toEqual(['member_removed:alice']);
    expect(out[0]!.reason).toBe('expired');
    expect(ledger.earliestExpiry).toBe(190);
    expireLeases(ledger, 190, out);
    expect(types(out)).toEqual(['member_removed:alice', 'member_removed:bob', 'channel_vacated']);
    expect(ledger.earliestExpiry).toBe(Infinity);
  });

  it('moves a connection between members without announcing a member that stays', () => {
    const ledger = createLedger('c');
    touch(ledger, 'ws:a', { clientId: 'alice' }, 0);
    touch(ledger, 'ws:b', { clientId: 'bob' }, 0);
    // ws:a now carries bob: alice goes (her last connection), bob stays (one more connection).
    expect(types(touch(ledger, 'ws:a', { clientId: 'bob' }, 1).out)).toEqual(['member_removed:alice']);
    expect(ledger.members.get('bob')!.connections).toBe(2);
    // Counted only: bob keeps his other connection.
    expect(types(touch(ledger, 'ws:a', undefined, 2).out)).toEqual([]);
    expect(ledger.members.get('bob')!.connections).toBe(1);
    expect(ledger.connections.size).toBe(2);
  });

  it('refuses a new connection past the channel bound, never a renewal', () => {
    const ledger = createLedger('c');
    expect(touch(ledger, 'a', undefined, 0, 1000, 'websocket', 2).result).toBe('ok');
    expect(touch(ledger, 'b', undefined, 0, 1000, 'websocket', 2).result).toBe('ok');
    expect(touch(ledger, 'c', { clientId: 'x' }, 0, 1000, 'websocket', 2)).toEqual({ result: 'full', out: [] });
    expect(touch(ledger, 'a', { clientId: 'x' }, 0, 1000, 'poll', 2).result).toBe('ok');
    expect(ledger.byTransport).toEqual({ websocket: 1, sse: 0, stream: 0, poll: 1 });
  });

  it('pages members in the order of their UTF-8 bytes, as Redis orders them', () => {
    const ledger = createLedger('c');
    const ids = ['b', 'a', 'é', 'z', 'A', '\u{1F600}', '\uFF5E'];
    for (const id of ids) touch(ledger, `ws:${id}`, { clientId: id }, 0);
    const sorted = [...ids].sort(compareUtf8);
    // UTF-16 order would put the emoji's surrogates before U+FF5E; UTF-8 puts it after.
    expect(sorted.slice(-2)).toEqual(['\uFF5E', '\u{1F600}']);
    const first = memberPage(ledger, undefined, 3);
    expect(first.members.map((m) => m.clientId)).toEqual(sorted.slice(0, 3));
    const rest = memberPage(ledger, first.next, 10);
    expect(rest.members.map((m) => m.clientId)).toEqual(sorted.slice(3));
    expect(rest.next).toBeUndefined();
  });

  it('keeps its counts equal to its leases and its announcements equal to what changed, whatever happens', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('touch' as const),
        conn: fc.integer({ min: 0, max: 5 }),
        member: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
        transport: fc.constantFrom(...TRANSPORT_NAMES),
        ttl: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ kind: fc.constant('release' as const), conn: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('expire' as const) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(op, fc.integer({ min: 0, max: 30 })), { maxLength: 60 }), (steps) => {
        const ledger = createLedger('c');
        const model = new Map<string, { transport: TransportName; member?: string; expiresAt: number }>();
        // What a listener knows from the announcements alone.
        let occupied = false;
        const heard = new Set<string>();
        let now = 0;
        for (const [step, advance] of steps) {
          now += advance;
          const out: PresenceChange[] = [];
          const lapse = () => {
            for (const [conn, entry] of model) if (entry.expiresAt <= now) model.delete(conn);
          };
          if (step.kind === 'touch') {
            expireLeases(ledger, now, out);
            lapse();
            const member = step.member === undefined ? undefined : { clientId: step.member };
            const result = touchLease(ledger, `k${step.conn}`, step.transport, member, now + step.ttl, now, 4, out);
            if (!model.has(`k${step.conn}`) && model.size >= 4) expect(result).toBe('full');
            else {
              expect(result).toBe('ok');
              model.set(`k${step.conn}`, { transport: step.transport, ...(step.member ? { member: step.member } : {}), expiresAt: now + step.ttl });
            }
          } else if (step.kind === 'release') {
            expireLeases(ledger, now, out);
            lapse();
            releaseLease(ledger, `k${step.conn}`, now, out);
            model.delete(`k${step.conn}`);
          } else {
            expireLeases(ledger, now, out);
            lapse();
          }
          for (const change of out) {
            expect(change.ts).toBe(now);
            if (change.type === 'channel_occupied') {
              expect(occupied).toBe(false);
              occupied = true;
            } else if (change.type === 'channel_vacated') {
              expect(occupied && heard.size === 0).toBe(true);
              occupied = false;
            } else if (change.type === 'member_added') {
              expect(occupied && !heard.has(change.clientId!)).toBe(true);
              heard.add(change.clientId!);
            } else {
              expect(heard.delete(change.clientId!)).toBe(true);
            }
          }
          const byTransport = Object.fromEntries(TRANSPORT_NAMES.map((t) => [t, [...model.values()].filter((e) => e.transport === t).length]));
          expect(ledger.byTransport).toEqual(byTransport);
          expect(ledger.connections.size).toBe(model.size);
          expect(occupied).toBe(model.size > 0);
          const members = new Map<string, number>();
          for (const e of model.values()) if (e.member) members.set(e.member, (members.get(e.member) ?? 0) + 1);
          expect(new Map([...ledger.members].map(([id, m]) => [id, m.connections]))).toEqual(members);
          expect(heard).toEqual(new Set(members.keys()));
          if (model.size > 0) expect(ledger.earliestExpiry).toBeLessThanOrEqual(Math.min(...[...model.values()].map((e) => e.expiresAt)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
