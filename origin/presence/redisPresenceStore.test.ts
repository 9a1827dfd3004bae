// The Redis presence store against a real redis-server: the shared contract, and what only Redis has:
// several origins on one presence, each change announced by one of them, and an outage reported.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { describePresenceStore } from './presenceStoreContract.ts';
import { PresenceUnavailableError, type LeaseTouch, type PresenceLimits, type PresenceStore } from './presenceStore.ts';
import { createRedisPresenceStore } from './redisPresenceStore.ts';

let redis: RunningRedis;
let inspect: Redis;
const stores: PresenceStore[] = [];
const prefixes = new Map<PresenceStore, string>();
let prefixCounter = 0;

async function store(options: { prefix?: string; limits?: PresenceLimits } = {}): Promise<PresenceStore> {
  const prefix = options.prefix ?? `t${++prefixCounter}:`;
  const created = await createRedisPresenceStore({ url: redis.url, keyPrefix: prefix, ...(options.limits ? { limits: options.limits } : {}) });
  stores.push(created);
  prefixes.set(created, prefix);
  return created;
}

beforeAll(async () => {
  redis = await startRedisServer();
  inspect = new Redis(redis.url);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  inspect?.disconnect();
  await redis?.stop();
});

describePresenceStore('redis', {
  create: (limits) => store(limits ? { limits } : {}),
  holds: async (s, channel) => {
    const prefix = prefixes.get(s)!;
    const keys = await inspect.keys(`${prefix}{presence}:c:${channel}:*`);
    const due = await inspect.zscore(`${prefix}{presence}:due`, channel);
    return keys.length > 0 || due !== null;
  },
});

describe('redis presence store', () => {
  const ws = (channel: string, id: string, clientId?: string): LeaseTouch => ({
    channel,
    connection: `ws:${id}`,
    transport: 'websocket',
    ...(clientId ? { member: { clientId } } : {}),
  });

  it('shows every origin the same members, and a lapse is announced by one sweeper only', async () => {
    const a = await store({ prefix: 'shared:' });
    const b = await store({ prefix: 'shared:' });
    await a.touch([ws('c', '1', 'alice')], 150);
    await b.touch([ws('c', '2', 'bob')], 150);
    expect((await b.read('c', { limit: 10 })).members.map((m) => m.clientId)).toEqual(['alice', 'bob']);
    await new Promise((r) => setTimeout(r, 400));
    const [fromA, fromB] = await Promise.all([a.sweep(), b.sweep()]);
    const all = [...fromA, ...fromB].map((c) => `${c.type}:${c.clientId ?? ''}`).sort();
    expect(all).toEqual(['channel_vacated:', 'member_removed:alice', 'member_removed:bob']);
  });

  it('reports an outage as PresenceUnavailableError', async () => {
    const doomed = await startRedisServer();
    const s = await createRedisPresenceStore({ url: doomed.url });
    await doomed.kill();
    await expect(s.touch([ws('c', '1')], 1000)).rejects.toBeInstanceOf(PresenceUnavailableError);
    await s.close();
    await expect(createRedisPresenceStore({ url: doomed.url })).rejects.toBeInstanceOf(PresenceUnavailableError);
  });
});
