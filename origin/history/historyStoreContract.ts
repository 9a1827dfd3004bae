// The behaviour every HistoryStore must have, as one vitest suite run against each store
// (memoryHistoryStore.test.ts, redisHistoryStore.test.ts), so the two can never drift apart.
import { describe, expect, it } from 'vitest';
import { HistoryConflictError, nextId, type HistoryStore } from './historyStore.ts';
import { resumePlan } from './resumePlan.ts';
import { START_ID, compareMessageIds } from '../../protocol/index.ts';

export interface StoreLimits {
  maxMessagesPerChannel: number;
  maxAgeMs: number;
  /** Days when not given. */
  channelIdleMs?: number;
  /** Unbounded when not given (stores that bound bytes, see StoreFactory.boundsBytes). */
  maxBytes?: number;
}

export interface StoreFactory {
  /** A store with its own empty keyspace and these limits. */
  create(limits: StoreLimits): Promise<HistoryStore>;
  /** Whether the store enforces `maxBytes` itself (the memory store; Redis is bounded by its maxmemory). */
  boundsBytes: boolean;
}

const LIMITS = { maxMessagesPerChannel: 100, maxAgeMs: 3_600_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const plus = (id: string, n: number): string => (BigInt(id) + BigInt(n)).toString();

export function describeHistoryStore(name: string, factory: StoreFactory): void {
  describe(`${name}: the history store contract`, () => {
    it('puts a channel nobody published to at position 0, with an epoch from the clock, and creates nothing for a read', async () => {
      const store = await factory.create(LIMITS);
      const before = BigInt(Date.now() - 5000) * 1000n;
      const { position, messages } = await store.read('c', undefined, 10);
      expect(messages).toEqual([]);
      expect(position).toMatchObject({ lastId: START_ID, floorId: START_ID });
      expect(BigInt(position.epochId) > before).toBe(true);
      expect((await store.read('c', undefined, 10)).position.lastId).toBe(START_ID);
      // Reading from anywhere: nothing retained, and a position above what was issued is ahead.
      expect(resumePlan(position, START_ID)).toEqual({ afterId: START_ID });
      expect(resumePlan(position, plus(position.epochId, 5)).reset?.reason).toBe('ahead');
      expect(resumePlan(position, '12345').reset?.reason).toBe('restarted');
    });

    it('assigns the next ids with prev-id (the first of an epoch follows 0), atomically per call, and replays after an id', async () => {
      const store = await factory.create(LIMITS);
      const { messages, skipUsers } = await store.append('c', [{ data: { n: 1 } }, { data: [2] }, { data: 'three' }]);
      const epoch = plus(messages[0]!.message.id, -1);
      expect(BigInt(epoch) % 1000n).toBe(0n);
      expect(skipUsers).toEqual([]);
      expect(messages.map((m) => [m.message.id, m.prevId, m.duplicate])).toEqual([
        [plus(epoch, 1), START_ID, false],
        [plus(epoch, 2), plus(epoch, 1), false],
        [plus(epoch, 3), plus(epoch, 2), false],
      ]);
      expect(messages[1]!.message).toMatchObject({ channel: 'c', data: [2], ts: expect.any(Number) });
      const after = await store.read('c', plus(epoch, 1), 10);
      expect(after.messages.map((m) => [m.id, m.data])).toEqual([
        [plus(epoch, 2), [2]],
        [plus(epoch, 3), 'three'],
      ]);
      expect(after.position).toEqual({ lastId: plus(epoch, 3), floorId: epoch, epochId: epoch });
      expect((await store.read('c', undefined, 2)).messages.map((m) => m.id)).toEqual([plus(epoch, 1), plus(epoch, 2)]);
      expect((await store.read('other', undefined, 10)).messages).toEqual([]);
    });

    it('stores nothing of a call that has one conflicting input, and names it', async () => {
      const store = await factory.create(LIMITS);
      const [first] = (await store.append('c', [{ data: 'a' }])).messages;
      const error = await store.append('c', [{ data: 'b' }, { data: 'c', id: first!.message.id }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HistoryConflictError);
      expect(error).toMatchObject({ index: 1 });
      expect((error as Error).message).toMatch(/already stored with other data/);
      const { position, messages } = await store.read('c', undefined, 10);
      expect(messages.map((m) => m.data)).toEqual(['a']);
      expect(position.lastId).toBe(first!.message.id);
    });

    it('treats a requested id already stored with the same data as a retry: reported, not stored twice', async () => {
      const store = await factory.create(LIMITS);
      const epoch = plus((await store.append('c', [{ data: 'first' }])).messages[0]!.message.id, -1);
      const a = plus(epoch, 10);
      const b = plus(epoch, 11);
      await store.append('c', [{ data: { v: 'a' }, id: a }]);
      const retry = await store.append('c', [{ data: { v: 'a' }, id: a }, { data: { v: 'b' }, id: b }]);
      expect(retry.messages.map((m) => [m.message.id, m.duplicate])).toEqual([
        [a, true],
        [b, false],
      ]);
      expect(retry.messages[1]!.prevId).toBe(a);
      expect((await store.read('c', undefined, 10)).messages.map((m) => m.id)).toEqual([plus(epoch, 1), a, b]);
      // A requested id below the last that was never stored is a conflict, as is one far in the future.
      await expect(store.append('c', [{ data: 1, id: plus(epoch, 5) }])).rejects.toThrow(/not above the last id/);
      await expect(store.append('c', [{ data: 1, id: plus(epoch, 10 ** 12) }])).rejects.toThrow(/highest id a publisher may request/);
      expect((await store.append('c', [{ data: 'next' }])).messages[0]!.message.id).toBe(nextId(b));
    });

    it('bounds a channel by count, raising the floor past what it dropped', async () => {
      const store = await factory.create({ maxMessagesPerChannel: 3, maxAgeMs: 3_600_000 });
      const { messages } = await store.append('c', [1, 2, 3, 4, 5].map((data) => ({ data })));
      const ids = messages.map((m) => m.message.id);
      const read = await store.read('c', undefined, 10);
      expect(read.messages.map((m) => m.id)).toEqual(ids.slice(2));
      expect(read.position.floorId).toBe(ids[1]);
      expect(read.position.lastId).toBe(ids[4]);
      expect(compareMessageIds(read.position.epochId, read.position.floorId)).toBe(-1);
    });

    it('names the WebSocket subscribes in progress on every append until they settle', async () => {
      const store = await factory.create(LIMITS);
      const start = await store.beginSubscribe('c', 'u1', 30_000, 10);
      if (start.busy) throw new Error('busy');
      expect(start.inFlight).toEqual([]);
      const during = await store.append('c', [{ data: 'during' }]);
      expect(during.skipUsers).toEqual(['u1']);
      const duringId = during.messages[0]!.message.id;
      // Settling at the position seen at the start fails: a message was appended since.
      expect(await store.settleSubscribe('c', 'u1', start.position.lastId)).toEqual({ outcome: 'behind', lastId: duringId });
      expect(await store.settleSubscribe('c', 'u1', duringId)).toEqual({ outcome: 'settled', lastId: duringId });
      expect((await store.append('c', [{ data: 'after' }])).skipUsers).toEqual([]);
      expect(await store.settleSubscribe('c', 'u1', duringId)).toEqual({ outcome: 'lapsed' });
      // Settling without an expected id always ends the skipping.
      await store.beginSubscribe('c', 'u3', 30_000, 10);
      await store.append('c', [{ data: 'y' }]);
      expect((await store.settleSubscribe('c', 'u3', undefined)).outcome).toBe('settled');
      await store.beginSubscribe('c', 'u2', 30_000, 10);
      await store.cancelSubscribe('c', 'u2');
      expect((await store.append('c', [{ data: 'x' }])).skipUsers).toEqual([]);
    });

    it('appends several callers on several channels in one call: each segment all or nothing, in order, a conflict failing only its own', async () => {
      const store = await factory.create(LIMITS);
      const seed = (await store.append('a', [{ data: 'seed' }])).messages[0]!.message.id;
      await store.beginSubscribe('b', 'ws-user-1', 60_000, 10);
      const [a, b] = await store.appendChannels([
        {
          channel: 'a',
          segments: [
            [{ data: 1 }, { data: 2, dataJson: '2' }],
            // Below the last id and never stored: this segment only is refused.
            [{ data: 'clash' }, { data: 'x', id: plus(seed, -5) }],
            [{ data: { three: 3 } }],
            // A retry of the first segment's second message with its id: a duplicate, not stored again.
            [{ data: 2, id: plus(seed, 2) }, { data: 4 }],
          ],
        },
        { channel: 'b', segments: [[{ data: 'b1' }]] },
      ]);
      expect(a!.status).toBe('done');
      const segments = a!.status === 'done' ? a!.segments : [];
      expect(segments.map((s) => s.ok)).toEqual([true, false, true, true]);
      const ids = (i: number) => (segments[i]!.ok ? segments[i]!.result.messages.map((m) => [m.message.id, m.prevId, m.duplicate]) : []);
      expect(ids(0)).toEqual([
        [plus(seed, 1), seed, false],
        [plus(seed, 2), plus(seed, 1), false],
      ]);
      const refused = segments[1]!;
      expect(!refused.ok && refused.error).toBeInstanceOf(HistoryConflictError);
      expect(!refused.ok && refused.error.index).toBe(1);
      expect(ids(2)).toEqual([[plus(seed, 3), plus(seed, 2), false]]);
      expect(ids(3)).toEqual([
        [plus(seed, 2), plus(seed, 2), true],
        [plus(seed, 4), plus(seed, 3), false],
      ]);
      expect((await store.read('a', seed, 10)).messages.map((m) => m.data)).toEqual([1, 2, { three: 3 }, 4]);
      // The subscribe in progress on b is named for b's messages.
      expect(b).toMatchObject({ status: 'done', segments: [{ ok: true, result: { skipUsers: ['ws-user-1'] } }] });
      expect(await store.stillInFlight('a', [plus(seed, 1), plus(seed, 4)])).toEqual([plus(seed, 1), plus(seed, 4)]);
      await store.landedChannels([
        { channel: 'a', ids: [plus(seed, 1), plus(seed, 4)] },
        { channel: 'b', ids: [] },
      ]);
      expect(await store.stillInFlight('a', [plus(seed, 1), plus(seed, 4)])).toEqual([]);
    });

    it('reports a gated channel in a batch instead of waiting for it; the other channels are stored', async () => {
      const store = await factory.create(LIMITS);
      expect(await store.gateAppends('held', 5_000, 0)).toBe('gated');
      const started = Date.now();
      const [held, free] = await store.appendChannels([
        { channel: 'held', segments: [[{ data: 'waits' }]] },
        { channel: 'free', segments: [[{ data: 'goes' }]] },
      ]);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(held!.status).toBe('gated');
      expect(held!.status === 'gated' && held!.retryInMs).toBeGreaterThan(0);
      expect(free!.status).toBe('done');
      expect((await store.read('held', undefined, 10)).messages).toEqual([]);
      await store.ungateAppends('held');
      const [again] = await store.appendChannels([{ channel: 'held', segments: [[{ data: 'waits' }]] }]);
      expect(again!.status).toBe('done');
    });

    it('holds appends while gated, until ungated or the gate times out', async () => {
      const store = await factory.create(LIMITS);
      await store.gateAppends('c', 5_000, 0);
      let done = false;
      const held = store.append('c', [{ data: 'held' }]).then((r) => ((done = true), r));
      await new Promise((r) => setTimeout(r, 100));
      expect(done).toBe(false);
      expect((await store.read('c', undefined, 10)).messages).toEqual([]);
      await store.ungateAppends('c');
      expect((await held).messages[0]!.message.data).toBe('held');
      // Timed from before the gate is set: an append that was not held at all ends well within 100 ms
      // of that (a loaded machine only makes it later, never earlier).
      const started = Date.now();
      expect(await store.gateAppends('c2', 100, 0)).toBe('gated');
      await store.append('c2', [{ data: 'after the gate timed out' }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
      // Other channels are never held.
      expect(await store.gateAppends('c3', 5_000, 0)).toBe('gated');
      await store.append('other', [{ data: 'free' }]);
      await store.ungateAppends('c3');
    });

    it('gates a channel at most once per ttl + cooldown, whoever asks: a client cannot hold its appends for long', async () => {
      const store = await factory.create(LIMITS);
      expect(await store.gateAppends('c', 200, 400)).toBe('gated');
      // While it holds, others join it (and must not end it).
      expect(await store.gateAppends('c', 200, 400)).toBe('joined');
      await store.ungateAppends('c');
      // Ended early: still no new gate until 600 ms after the first began.
      expect(await store.gateAppends('c', 200, 400)).toBe('cooling');
      let done = false;
      await store.append('c', [{ data: 'not held while cooling' }]).then(() => (done = true));
      expect(done).toBe(true);
      expect(await store.gateAppends('other', 200, 400)).toBe('gated');
      await store.ungateAppends('other');
      await new Promise((r) => setTimeout(r, 650));
      expect(await store.gateAppends('c', 200, 400)).toBe('gated');
      await store.ungateAppends('c');
    });

    it('makes room on a full channel by dropping subscribes that made no progress for the stale time', async () => {
      const store = await factory.create(LIMITS);
      expect((await store.beginSubscribe('c', 'idle-1', 30_000, 2, 200)).busy).toBe(false);
      expect((await store.beginSubscribe('c', 'idle-2', 30_000, 2, 200)).busy).toBe(false);
      // Both renewed just now: full.
      expect(await store.beginSubscribe('c', 'new', 30_000, 2, 200)).toEqual({ busy: true });
      await new Promise((r) => setTimeout(r, 300));
      // idle-2 renews (a catch-up round); idle-1 did not for 300 ms: it makes room.
      expect((await store.beginSubscribe('c', 'idle-2', 30_000, Number.MAX_SAFE_INTEGER)).busy).toBe(false);
      expect((await store.beginSubscribe('c', 'new', 30_000, 2, 200)).busy).toBe(false);
      expect((await store.append('c', [{ data: 1 }])).skipUsers.sort()).toEqual(['idle-2', 'new']);
      expect((await store.settleSubscribe('c', 'idle-1', undefined)).outcome).toBe('lapsed');
    });

    it('refuses more concurrent subscribes on a channel than asked for', async () => {
      const store = await factory.create(LIMITS);
      expect((await store.beginSubscribe('c', 'a', 30_000, 2)).busy).toBe(false);
      expect((await store.beginSubscribe('c', 'b', 30_000, 2)).busy).toBe(false);
      expect(await store.beginSubscribe('c', 'c', 30_000, 2)).toEqual({ busy: true });
      // The same user again is a renewal, not one more.
      expect((await store.beginSubscribe('c', 'a', 30_000, 2)).busy).toBe(false);
      expect((await store.append('c', [{ data: 1 }])).skipUsers.sort()).toEqual(['a', 'b']);
    });

    it('lets a subscribe lapse after its time', async () => {
      const store = await factory.create(LIMITS);
      const start = await store.beginSubscribe('c', 'u', 50, 10);
      if (start.busy) throw new Error('busy');
      await new Promise((r) => setTimeout(r, 120));
      expect((await store.append('c', [{ data: 'late' }])).skipUsers).toEqual([]);
      expect((await store.settleSubscribe('c', 'u', start.position.lastId)).outcome).toBe('lapsed');
    });

    it('tracks publishes in flight until they landed', async () => {
      const store = await factory.create(LIMITS);
      const [m1, m2] = (await store.append('c', [{ data: 1 }, { data: 2 }])).messages.map((m) => m.message.id);
      const start = await store.beginSubscribe('c', 'u', 30_000, 10);
      if (start.busy) throw new Error('busy');
      expect([...start.inFlight].sort()).toEqual([m1, m2]);
      await store.landed('c', [m1!]);
      expect(await store.stillInFlight('c', [m1!, m2!])).toEqual([m2]);
      await store.landed('c', [m2!]);
      expect(await store.stillInFlight('c', [m1!, m2!])).toEqual([]);
    });

    it('drops messages past the age limit like a trim, also once nothing of them is left: a resume from before is told', async () => {
      const store = await factory.create({ maxMessagesPerChannel: 100, maxAgeMs: 300 });
      const ids = (await store.append('c', [1, 2, 3].map((data) => ({ data })))).messages.map((m) => m.message.id);
      // Long enough for a store to have let the whole log expire (Redis: the log key's TTL is the age limit).
      await sleep(800);
      const { position, messages } = await store.read('c', ids[0], 10);
      expect(messages).toEqual([]);
      expect(position).toMatchObject({ lastId: ids[2], floorId: ids[2] });
      expect(resumePlan(position, ids[0]).reset).toEqual({ reason: 'expired', since: ids[0], after: ids[2] });
      expect(resumePlan(position, START_ID).reset).toMatchObject({ reason: 'expired' });
      // Up to date: nothing was missed, nothing to tell.
      expect(resumePlan(position, ids[2])).toEqual({ afterId: ids[2] });
      const next = (await store.append('c', [{ data: 4 }])).messages[0]!;
      expect(next.prevId).toBe(ids[2]);
    });

    it('forgets a channel idle past its idle time: a new epoch above every id, a resume from the old one is told', async () => {
      const store = await factory.create({ maxMessagesPerChannel: 100, maxAgeMs: 200, channelIdleMs: 400 });
      const old = (await store.append('c', [{ data: 'a' }, { data: 'b' }])).messages.map((m) => m.message.id);
      await sleep(1000);
      const { position, messages } = await store.read('c', old[0], 10);
      expect(messages).toEqual([]);
      expect(compareMessageIds(position.epochId, old[1]!)).toBeGreaterThanOrEqual(0);
      const fresh = (await store.append('c', [{ data: 'c' }])).messages[0]!.message.id;
      expect(compareMessageIds(fresh, old[1]!)).toBe(1);
      const after = (await store.read('c', undefined, 10)).position;
      const plan = resumePlan(after, old[0]);
      expect(plan.reset?.reason).toMatch(/^(restarted|expired)$/);
      expect(plan.afterId).toBe(plan.reset?.after);
      expect((await store.read('c', plan.afterId, 10)).messages.map((m) => m.data)).toEqual(['c']);
    });

    it.runIf(factory.boundsBytes)('bounds its bytes by dropping the oldest messages first, as a trim: a resume from before is told', async () => {
      const store = await factory.create({ ...LIMITS, maxBytes: 16 * 1024 });
      const payload = 'x'.repeat(400);
      const a = (await store.append('a', Array.from({ length: 10 }, (_, n) => ({ data: { n, payload } })))).messages.map((m) => m.message.id);
      const b: string[] = [];
      for (let n = 0; n < 40; n++) b.push((await store.append('b', [{ data: { n, payload } }])).messages[0]!.message.id);
      // 50 messages of ~500 bytes cannot all fit 16 KiB: channel a's (the oldest) went first, then b's oldest.
      const readA = await store.read('a', undefined, 100);
      expect(readA.messages).toEqual([]);
      expect(readA.position).toMatchObject({ lastId: a[9], floorId: a[9] });
      expect(resumePlan(readA.position, a[3]).reset).toEqual({ reason: 'expired', since: a[3], after: a[9] });
      const readB = await store.read('b', undefined, 100);
      const kept = readB.messages.map((m) => m.id);
      expect(kept.length).toBeGreaterThan(10);
      expect(kept.length).toBeLessThan(40);
      // What is kept is the newest, without holes, right above the floor.
      expect(kept).toEqual(b.slice(b.length - kept.length));
      expect(readB.position.floorId).toBe(b[b.length - kept.length - 1]);
      expect(resumePlan(readB.position, b[0]).reset).toMatchObject({ reason: 'expired', after: readB.position.floorId });
      expect(resumePlan(readB.position, readB.position.floorId)).toEqual({ afterId: readB.position.floorId });
    });

    it('carries digits exactly when incrementing (ids are decimal strings, not floats)', async () => {
      const store = await factory.create(LIMITS);
      const epoch = plus((await store.append('c', [{ data: 0 }])).messages[0]!.message.id, -1);
      const nines = plus(epoch, 999);
      expect(nines.endsWith('999')).toBe(true);
      await store.append('c', [{ data: 1, id: nines }]);
      const next = await store.append('c', [{ data: 2 }]);
      expect(next.messages[0]).toMatchObject({ message: { id: plus(epoch, 1000) }, prevId: nines });
    });
  });
}
