// History store throughput: appends (sequential and 8 concurrent writers) and replays, for the
// in-memory store and the Redis Streams store against a private redis-server. Prints numbers only.
import { createMemoryHistoryStore } from '../../origin/history/memoryHistoryStore.ts';
import { createRedisHistoryStore } from '../../origin/history/redisHistoryStore.ts';
import type { HistoryStore } from '../../origin/history/historyStore.ts';
import { startRedisServer } from '../shared/redisServer.ts';

const limits = { maxMessagesPerChannel: 1000, maxAgeMs: 3_600_000, channelIdleMs: 7 * 24 * 3_600_000, maxBytes: 1024 ** 3 };
const APPENDS = 3000;

async function measure(name: string, store: HistoryStore): Promise<void> {
  const payload = { text: 'x'.repeat(200) };
  let start = performance.now();
  for (let n = 0; n < APPENDS; n++) await store.append('seq', [{ data: payload }]);
  const sequential = APPENDS / ((performance.now() - start) / 1000);
  start = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let n = 0; n < APPENDS / 8; n++) await store.append('par', [{ data: payload }]);
    }),
  );
  const concurrent = APPENDS / ((performance.now() - start) / 1000);
  start = performance.now();
  const reads = 200;
  const { position } = await store.read('seq', undefined, 0);
  const from = (BigInt(position.lastId) - 100n).toString();
  for (let n = 0; n < reads; n++) await store.read('seq', from, 100);
  const replays = reads / ((performance.now() - start) / 1000);
  console.log(
    `${name.padEnd(6)} appends/s sequential=${sequential.toFixed(0)} 8-concurrent=${concurrent.toFixed(0)}  ` +
      `replays of 100 msgs/s=${replays.toFixed(0)}`,
  );
}

export async function run(): Promise<void> {
  await measure('memory', createMemoryHistoryStore(limits));
  const redis = await startRedisServer();
  try {
    const store = await createRedisHistoryStore({ url: redis.url, limits });
    await measure('redis', store);
    await store.close();
  } finally {
    await redis.stop();
  }
}
