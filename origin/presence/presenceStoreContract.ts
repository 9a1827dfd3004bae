// The behaviour every PresenceStore must have, as one vitest suite run against each store
// (memoryPresenceStore.test.ts, redisPresenceStore.test.ts), so the two can never drift apart.
// Expiry is tested with short leases and waits longer than them: a slow machine only makes a lapse
// more certain. A lease that must stay is given a minute.
import { describe, expect, it } from 'vitest';
import type { LeaseTouch, PresenceChange, PresenceLimits, PresenceStore } from './presenceStore.ts';

export interface PresenceStoreFactory {
  /** A store with its own empty keyspace. */
  create(limits?: PresenceLimits): Promise<PresenceStore>;
  /** Whether the store keeps anything at all for `channel` (an empty channel must keep nothing). */
  holds(store: PresenceStore, channel: string): Promise<boolean>;
}

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ws = (channel: string, id: string, clientId?: string, info?: Record<string, unknown>): LeaseTouch => ({
  channel,
  connection: `ws:${id}`,
  transport: 'websocket',
  ...(clientId !== undefined ? { member: { clientId, ...(info !== undefined ? { info } : {}) } } : {}),
});
/** The changes without their time, which each store takes from its own clock. */
const untimed = (changes: PresenceChange[]) =>
  changes.map((c) => {
    expect(c.ts).toBeGreaterThan(Date.now() - MINUTE);
    const { ts: _ts, ...rest } = c;
    return rest;
  });

export function describePresenceStore(name: string, factory: PresenceStoreFactory): void {
  describe(`${name}: the presence store contract`, () => {
    it('counts connections by transport, lists members once however many connections they have, and announces what changed', async () => {
      const store = await factory.create();
      let outcome = await store.touch([ws('c', 'a', 'alice', { name: 'Alice' }), ws('c', 'b', 'alice'), ws('c', 'x')], MINUTE);
      expect(outcome.refused).toEqual([]);
      expect(untimed(outcome.changes)).toEqual([
        { type: 'channel_occupied', channel: 'c' },
        { type: 'member_added', channel: 'c', clientId: 'alice', info: { name: 'Alice' } },
      ]);
      outcome = await store.touch([{ channel: 'c', connection: 'lease:l1', transport: 'sse', member: { clientId: 'bob' } }], MINUTE);
      expect(untimed(outcome.changes)).toEqual([{ type: 'member_added', channel: 'c', clientId: 'bob' }]);
      const read = await store.read('c', { limit: 10 });
      expect(read.changes).toEqual([]);
      // The latest entry's info stands for the member (alice's second connection carried none).
      expect(read).toMatchObject({
        occupancy: { connections: 4, members: 2, byTransport: { websocket: 3, sse: 1, stream: 0, poll: 0 } },
        members: [
          { clientId: 'alice', connections: 2 },
          { clientId: 'bob', connections: 1 },
        ],
      });
      expect(read.members[0]!.info).toBeUndefined();
      expect(read.next).toBeUndefined();
      // A renewal changes nothing but what it carries: a transport, a member's info.
      outcome = await store.touch([ws('c', 'b', 'alice', { name: 'A.' }), { channel: 'c', connection: 'lease:l1', transport: 'poll', member: { clientId: 'bob' } }], MINUTE);
      expect(outcome.changes).toEqual([]);
      expect(await store.read('c', { limit: 10 })).toMatchObject({
        occupancy: { connections: 4, members: 2, byTransport: { websocket: 3, sse: 0, stream: 0, poll: 1 } },
        members: [{ clientId: 'alice', info: { name: 'A.' } }, { clientId: 'bob' }],
      });
    });

    it('removes a member with its last connection, vacates the channel with its last lease, and keeps nothing of it', async () => {
      const store = await factory.create();
      await store.touch([ws('c', 'a', 'alice'), ws('c', 'b', 'alice'), ws('c', 'x'), ws('d', 'a', 'alice')], MINUTE);
      expect(await store.release([{ channel: 'c', connection: 'ws:a' }])).toEqual([]);
      expect(untimed(await store.release([{ channel: 'c', connection: 'ws:b' }, { channel: 'c', connection: 'ws:unknown' }, { channel: 'nowhere', connection: 'ws:a' }]))).toEqual([
        { type: 'member_removed', channel: 'c', clientId: 'alice', reason: 'left' },
      ]);
      expect(untimed(await store.release([{ channel: 'c', connection: 'ws:x' }]))).toEqual([{ type: 'channel_vacated', channel: 'c', reason: 'left' }]);
      expect(await factory.holds(store, 'c')).toBe(false);
      expect(await store.release([{ channel: 'c', connection: 'ws:x' }])).toEqual([]);
      // Another channel of the same connection is its own lease.
      expect((await store.read('d', { limit: 10 })).occupancy.members).toBe(1);
      const empty = await store.read('never', { limit: 10 });
      expect(empty).toEqual({ occupancy: { connections: 0, members: 0, byTransport: { websocket: 0, sse: 0, stream: 0, poll: 0 } }, members: [], changes: [] });
      expect(await factory.holds(store, 'never')).toBe(false);
    });

    it('lets leases not renewed in time lapse: a sweep, a read or a touch claims them, once', async () => {
      const store = await factory.create();
      await store.touch([ws('s', 'a', 'alice'), ws('s', 'b'), ws('r', 'a', 'alice'), ws('t', 'a', 'alice')], 150);
      await store.touch([ws('t', 'stays', 'bob')], MINUTE);
      // A lease renewed for a minute stays, however long the lapse takes.
      await store.touch([ws('s', 'b')], MINUTE);
      await sleep(400);
      const swept = untimed(await store.sweep());
      expect(swept.filter((c) => c.channel === 's')).toEqual([{ type: 'member_removed', channel: 's', clientId: 'alice', reason: 'expired' }]);
      // The sweep may reach r and t too (they are due); whatever it claimed is not claimed again.
      const all = [...swept];
      const read = await store.read('r', { limit: 10 });
      all.push(...untimed(read.changes));
      expect(read.occupancy.connections).toBe(0);
      const touched = await store.touch([ws('t', 'new', 'carol')], MINUTE);
      all.push(...untimed(touched.changes));
      expect(all.filter((c) => c.channel === 'r')).toEqual([
        { type: 'member_removed', channel: 'r', clientId: 'alice', reason: 'expired' },
        { type: 'channel_vacated', channel: 'r', reason: 'expired' },
      ]);
      expect(all.filter((c) => c.channel === 't')).toEqual([
        { type: 'member_removed', channel: 't', clientId: 'alice', reason: 'expired' },
        { type: 'member_added', channel: 't', clientId: 'carol' },
      ]);
      expect(await store.sweep()).toEqual([]);
      expect(await factory.holds(store, 'r')).toBe(false);
      expect((await store.read('s', { limit: 10 })).occupancy).toMatchObject({ connections: 1, members: 0 });
    });

    it('announces a vacated channel before it is occupied again when its leases lapsed meanwhile', async () => {
      const store = await factory.create();
      await store.touch([ws('c', 'a', 'alice')], 100);
      await sleep(300);
      expect(untimed((await store.touch([ws('c', 'b', 'alice')], MINUTE)).changes)).toEqual([
        { type: 'member_removed', channel: 'c', clientId: 'alice', reason: 'expired' },
        { type: 'channel_vacated', channel: 'c', reason: 'expired' },
        { type: 'channel_occupied', channel: 'c' },
        { type: 'member_added', channel: 'c', clientId: 'alice' },
      ]);
    });

    it('refuses new leases past the channel bound (renewals go on)', async () => {
      const store = await factory.create({ maxConnectionsPerChannel: 2 });
      const outcome = await store.touch([ws('c', 'a', 'alice'), ws('c', 'b'), ws('c', 'c', 'carol'), ws('d', 'c', 'carol')], MINUTE);
      expect(outcome.refused).toEqual([ws('c', 'c', 'carol')]);
      expect(untimed(outcome.changes).map((c) => `${c.type}:${c.channel}:${c.clientId ?? ''}`)).toEqual([
        'channel_occupied:c:',
        'member_added:c:alice',
        'channel_occupied:d:',
        'member_added:d:carol',
      ]);
      expect((await store.touch([ws('c', 'b', 'bob')], MINUTE)).refused).toEqual([]);
      expect((await store.read('c', { limit: 10 })).occupancy).toMatchObject({ connections: 2, members: 2 });
    });

    it('pages members in the order of their UTF-8 bytes', async () => {
      const store = await factory.create();
      const ids = ['b', 'a', 'é', 'z', 'A', '\u{1F600}', '\uFF5E', 'a|b', 'line\nbreak'];
      await store.touch(ids.map((id, i) => ws('c', String(i), id)), MINUTE);
      const expected = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 5; page++) {
        const read = await store.read('c', { limit: 4, ...(after !== undefined ? { after } : {}) });
        seen.push(...read.members.map((m) => m.clientId));
        if (read.next === undefined) break;
        after = read.next;
      }
      expect(seen).toEqual(expected);
    });

    it('sweeps at most the channels asked for in one call', async () => {
      const store = await factory.create();
      await store.touch(['a', 'b', 'c'].map((c) => ws(c, 'x')), 100);
      await sleep(300);
      const first = await store.sweep(2);
      expect(new Set(first.map((c) => c.channel)).size).toBe(2);
      const second = await store.sweep(2);
      expect(new Set([...first, ...second].map((c) => c.channel))).toEqual(new Set(['a', 'b', 'c']));
    });
  });
}
