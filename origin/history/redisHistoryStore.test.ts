// The Redis store against a real redis-server: ids, conflicts, replay, retention, and two clients
// (as two origin instances) sharing one sequence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RunningRedis } from '../../test/harness/redisServer.ts';
import { HistoryConflictError, type HistoryStore } from './historyStore.ts';
import { createRedisHistoryStore, HistoryUnavailableError } from './redisHistoryStore.ts';

let redis: RunningRedis;
const stores: HistoryStore[] = [];
let prefixCounter = 0;

async function store(options: { maxMessages?: number; maxAgeMs?: number; now?: () => number; prefix?: string } = {}) {
  const created = await createRedisHistoryStore({
    url: redis.url,
    keyPrefix: options.prefix ?? `t${++prefixCounter}:`,
    limits: { maxMessagesPerChannel: options.maxMessages ?? 100, maxAgeMs: options.maxAgeMs ?? 3_600_000 },
    ...(options.now ? { now: options.now } : {}),
  });
  stores.push(created);
  return created;
}

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis?.stop();
});

describe('Redis history store', () => {
  it('assigns increasing ids with prev-id, and replays after an id', async () => {
    const history = await store();
    expect(await history.lastId('c')).toBeUndefined();
    const first = await history.append('c', { n: 1 });
    expect(first.message.id).toBe('1');
    expect(first.prevId).toBe('0');
    const second = await history.append('c', [2]);
    expect(second).toMatchObject({ message: { id: '2', data: [2] }, prevId: '1' });
    await history.append('c', 'three');
    expect((await history.readAfter('c', '1')).map((m) => [m.id, m.data])).toEqual([
      ['2', [2]],
      ['3', 'three'],
    ]);
    expect((await history.readAfter('c', undefined, 2)).map((m) => m.id)).toEqual(['1', '2']);
    expect(await history.lastId('c')).toBe('3');
    expect(await history.readAfter('other', undefined)).toEqual([]);
  });

  it('accepts a requested id above the last and refuses one at or below it', async () => {
    const history = await store();
    await history.append('c', 1);
    expect((await history.append('c', 2, '10')).prevId).toBe('1');
    await expect(history.append('c', 3, '10')).rejects.toBeInstanceOf(HistoryConflictError);
    await expect(history.append('c', 3, '9')).rejects.toThrow(/not above the last id 10/);
    expect((await history.append('c', 4)).message.id).toBe('11');
  });

  it('keeps ids beyond 2^53 exact', async () => {
    const history = await store();
    await history.append('c', 1, '900000000000000001');
    const next = await history.append('c', 2);
    expect(next).toMatchObject({ message: { id: '900000000000000002' }, prevId: '900000000000000001' });
    expect((await history.readAfter('c', '900000000000000001')).map((m) => m.id)).toEqual(['900000000000000002']);
    // Longer decimal strings are larger, whatever their first digit.
    await expect(history.append('c', 3, '99999999999999999')).rejects.toBeInstanceOf(HistoryConflictError);
  });

  it('bounds a channel by count and by age', async () => {
    let clock = 1_000_000;
    const history = await store({ maxMessages: 3, maxAgeMs: 10_000, now: () => clock });
    for (let n = 1; n <= 5; n++) await history.append('c', n);
    expect((await history.readAfter('c', undefined)).map((m) => m.id)).toEqual(['3', '4', '5']);
    clock += 20_000;
    expect(await history.readAfter('c', undefined)).toEqual([]);
    await history.append('c', 6);
    expect((await history.readAfter('c', undefined)).map((m) => m.id)).toEqual(['6']);
    expect(await history.lastId('c')).toBe('6');
  });

  it('shares one sequence between two instances', async () => {
    const a = await store({ prefix: 'shared:' });
    const b = await store({ prefix: 'shared:' });
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? a : b).append('c', n).then((r) => Number(r.message.id))),
    );
    expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    expect((await b.readAfter('c', '38')).map((m) => m.id)).toEqual(['39', '40']);
  });

  it('fails clearly when Redis is unreachable', async () => {
    await expect(
      createRedisHistoryStore({ url: 'redis://127.0.0.1:1', limits: { maxMessagesPerChannel: 1, maxAgeMs: 1000 } }),
    ).rejects.toBeInstanceOf(HistoryUnavailableError);
  });
});
