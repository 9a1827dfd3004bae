// The Redis store against a real redis-server: the shared contract, plus what only Redis has: several
// instances on one sequence, stale entries left by another clock, a flush, a restart that restored an
// older snapshot, and an outage.
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { HistoryUnavailableError, type HistoryStore } from './historyStore.ts';
import { describeHistoryStore } from './historyStoreContract.ts';
import { createRedisHistoryStore } from './redisHistoryStore.ts';
import { resumePlan } from './resumePlan.ts';

let redis: RunningRedis;
const stores: HistoryStore[] = [];
let prefixCounter = 0;
const IDLE = 7 * 24 * 3600 * 1000;

async function store(options: { maxMessages?: number; maxAgeMs?: number; idleMs?: number; prefix?: string; url?: string } = {}) {
  const created = await createRedisHistoryStore({
    url: options.url ?? redis.url,
    keyPrefix: options.prefix ?? `t${++prefixCounter}:`,
    limits: {
      maxMessagesPerChannel: options.maxMessages ?? 100,
      maxAgeMs: options.maxAgeMs ?? 3_600_000,
      channelIdleMs: options.idleMs ?? IDLE,
      maxBytes: Number.MAX_SAFE_INTEGER,
    },
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

describeHistoryStore('redis', {
  create: (limits) =>
    store({ maxMessages: limits.maxMessagesPerChannel, maxAgeMs: limits.maxAgeMs, ...(limits.channelIdleMs ? { idleMs: limits.channelIdleMs } : {}) }),
  boundsBytes: false,
});

/** The id of an append made as soon as the restarted server takes one (tries for about 5 s). */
async function appendOnceBack(history: HistoryStore): Promise<string | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = await history
      .append('c', [{ data: 'after restart' }])
      .then((r) => r.messages[0]!.message.id)
      .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
    if (id !== undefined) return id;
  }
  return undefined;
}

describe('Redis history store', () => {
  it('shares one sequence between two instances', async () => {
    const a = await store({ prefix: 'shared:' });
    const b = await store({ prefix: 'shared:' });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? a : b).append('c', [{ data: n }]).then((r) => r.messages[0]!)),
    );
    const ids = results.map((r) => BigInt(r.message.id)).sort((x, y) => (x < y ? -1 : 1));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! - ids[i - 1]!).toBe(1n);
    const last = ids.at(-1)!.toString();
    expect((await b.read('c', (ids.at(-3)!).toString(), 10)).messages.map((m) => m.id)).toEqual([ids.at(-2)!.toString(), last]);
  });

  it('expires by age before counting, so stale entries never hide fresh ones', async () => {
    const prefix = `stale${++prefixCounter}:`;
    const history = await store({ prefix, maxAgeMs: 60_000 });
    const base = BigInt((await history.append('c', [{ data: 'first' }])).messages[0]!.message.id);
    // Entries written with an old timestamp (another instance's clock, or an old origin version).
    const raw = new Redis(redis.url);
    try {
      const log = `${prefix}{c}:log`;
      const old = String(Date.now() - 3_600_000);
      await raw.del(log);
      for (let n = 1; n <= 150; n++) await raw.xadd(log, `${base + BigInt(n)}-0`, 'ts', old, 'data', '"stale"');
      await raw.hset(`${prefix}{c}:pos`, 'last', (base + 150n).toString());
    } finally {
      raw.disconnect();
    }
    const fresh = (await history.append('c', [{ data: 'fresh' }])).messages[0]!.message.id;
    const read = await history.read('c', base.toString(), 100);
    expect(read.messages.map((m) => m.data)).toEqual(['fresh']);
    expect(read.position.floorId).toBe((base + 150n).toString());
    expect(read.position.lastId).toBe(fresh);
  });

  it('treats a log Redis evicted (maxmemory with an LRU policy) as trimmed, so a resume from before it is told', async () => {
    const prefix = `evicted${++prefixCounter}:`;
    const history = await store({ prefix });
    const ids = (await history.append('c', [{ data: 1 }, { data: 2 }, { data: 3 }])).messages.map((m) => m.message.id);
    const raw = new Redis(redis.url);
    try {
      await raw.del(`${prefix}{c}:log`);
    } finally {
      raw.disconnect();
    }
    const { position, messages } = await history.read('c', ids[0], 10);
    expect(messages).toEqual([]);
    expect(position).toMatchObject({ lastId: ids[2], floorId: ids[2] });
    expect(resumePlan(position, ids[0]).reset).toEqual({ reason: 'expired', since: ids[0], after: ids[2] });
  });

  it('starts a new epoch above every issued id after a flush', async () => {
    const history = await store();
    const before = (await history.append('c', [{ data: 1 }, { data: 2 }])).messages[1]!.message.id;
    const raw = new Redis(redis.url);
    await raw.flushall();
    raw.disconnect();
    const after = await history.append('c', [{ data: 3 }]);
    expect(BigInt(after.messages[0]!.message.id) > BigInt(before)).toBe(true);
    const { position } = await history.read('c', undefined, 10);
    expect(BigInt(position.epochId) >= BigInt(before)).toBe(true);
  });

  it('starts a new epoch after a restart that restored an older snapshot', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redis-persist-'));
    let server = await startRedisServer({ dataDir });
    const port = server.port;
    try {
      const history = await store({ url: server.url });
      await history.append('c', [{ data: 'saved' }]);
      const raw = new Redis(server.url);
      await raw.save();
      raw.disconnect();
      // Issued after the snapshot: lost when the server crashes and restarts from it.
      const lost = (await history.append('c', [{ data: 'unsaved-1' }, { data: 'unsaved-2' }])).messages[1]!.message.id;
      await server.kill();
      server = await startRedisServer({ dataDir, port });
      const next = await appendOnceBack(history);
      expect(next).toBeDefined();
      expect(BigInt(next!) > BigInt(lost)).toBe(true);
      const { position, messages } = await history.read('c', undefined, 10);
      expect(messages.map((m) => m.data)).toEqual(['after restart']);
      expect(BigInt(position.epochId) >= BigInt(lost)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('keeps the history across a crash of a Redis that persists every write (appendfsync always)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redis-durable-'));
    let server = await startRedisServer({ dataDir, durable: true });
    const port = server.port;
    try {
      const history = await store({ url: server.url });
      const before = (await history.append('c', [{ data: 'one' }, { data: 'two' }])).messages.map((m) => m.message.id);
      await server.kill();
      server = await startRedisServer({ dataDir, port, durable: true });
      const next = await appendOnceBack(history);
      // The same sequence goes on: nothing was lost, so no new epoch and no reset for anyone.
      expect(next).toBe((BigInt(before[1]!) + 1n).toString());
      const { messages } = await history.read('c', undefined, 10);
      expect(messages.map((m) => m.data)).toEqual(['one', 'two', 'after restart']);
      expect((await history.read('c', before[0], 10)).messages.map((m) => m.id)).toEqual([before[1], next]);
    } finally {
      await server.stop();
    }
  });

  it('reports an outage as HistoryUnavailableError, and recovers when Redis is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redis-outage-'));
    let server = await startRedisServer({ dataDir });
    try {
      const history = await store({ url: server.url });
      await history.append('c', [{ data: 1 }]);
      await server.stop();
      await expect(history.append('c', [{ data: 2 }])).rejects.toBeInstanceOf(HistoryUnavailableError);
      await expect(history.read('c', undefined, 1)).rejects.toBeInstanceOf(HistoryUnavailableError);
      server = await startRedisServer({ dataDir, port: server.port });
      let ok = false;
      for (let attempt = 0; attempt < 50 && !ok; attempt++) {
        ok = await history.append('c', [{ data: 3 }]).then(() => true, () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)));
      }
      expect(ok).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('fails clearly when Redis is unreachable at start', async () => {
    await expect(
      createRedisHistoryStore({ url: 'redis://127.0.0.1:1', limits: { maxMessagesPerChannel: 1, maxAgeMs: 1000, channelIdleMs: IDLE, maxBytes: 1 << 20 } }),
    ).rejects.toBeInstanceOf(HistoryUnavailableError);
  });
});

/**
 * A TCP relay in front of Redis that, the first time a request carrying `marker` passes, forwards it
 * and then cuts the connection before Redis's answer can come back: the command ran, its caller never
 * heard. (What a network blip or a Redis failover does to a command in flight.)
 */
async function cuttingRelay(
  target: string,
  marker: string,
  options: { refuseAfterCut?: boolean; reopenAfterMs?: number } = {},
): Promise<{ url: string; cuts: number; close(): Promise<void> }> {
  const { hostname: host, port } = new URL(target);
  const sockets = new Set<import('node:net').Socket>();
  const relay = { url: '', cuts: 0, close: async () => {} };
  let armed = true;
  let reopen: NodeJS.Timeout | undefined;
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('data', (chunk) => {
      upstream.write(chunk);
      if (armed && chunk.includes(marker)) {
        armed = false;
        relay.cuts++;
        // Redis runs it; its reply is never relayed (and with refuseAfterCut, Redis is unreachable after).
        upstream.pause();
        if (options.refuseAfterCut) {
          const { port: own } = server.address() as AddressInfo;
          server.close();
          // Reachable again on the same address after a while (Redis back after an outage).
          if (options.reopenAfterMs !== undefined) reopen = setTimeout(() => server.listen(own, '127.0.0.1'), options.reopenAfterMs);
        }
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 100);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay.close = () =>
    new Promise((resolve) => {
      clearTimeout(reopen);
      for (const socket of sockets) socket.destroy();
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
  return relay;
}

describe('an append whose answer is lost with the connection', () => {
  it('is stored once, and its caller is told exactly what was stored (ioredis sends it again after reconnecting)', async () => {
    const relay = await cuttingRelay(redis.url, 'lost-answer-probe');
    const prefix = `lost${++prefixCounter}:`;
    try {
      const history = await store({ prefix, url: relay.url });
      await history.append('c', [{ data: 'before' }]);
      const outcome = await history.append('c', [{ data: 'lost-answer-probe' }]).then(
        (result) => ({ stored: result.messages.map((m) => m.message.id) }),
        (error: unknown) => ({ error }),
      );
      expect(relay.cuts).toBe(1);
      const raw = new Redis(redis.url);
      try {
        const entries = await raw.xrange(`${prefix}{c}:log`, '-', '+');
        const probes = entries.filter(([, fields]) => fields.includes('"lost-answer-probe"'));
        // Stored once, whatever the connection did.
        expect(probes).toHaveLength(1);
        // And the caller knows it: the id it was told is the one stored.
        expect(outcome).toEqual({ stored: [probes[0]![0].replace(/-0$/, '')] });
      } finally {
        raw.disconnect();
      }
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('when no answer comes back at all, says that what it stored is unknown (not "nothing stored")', async () => {
    const relay = await cuttingRelay(redis.url, 'unknown-outcome-probe', { refuseAfterCut: true });
    const prefix = `lost${++prefixCounter}:`;
    try {
      const history = await store({ prefix, url: relay.url });
      await history.append('c', [{ data: 'before' }]);
      const error = await history.append('c', [{ data: 'unknown-outcome-probe' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HistoryUnavailableError);
      expect((error as HistoryUnavailableError).maybeStored).toBe(true);
      expect((error as Error).message).toMatch(/what it stored is unknown/);
      // It did run: the caller must not be told nothing was stored.
      const raw = new Redis(redis.url);
      try {
        const entries = await raw.xrange(`${prefix}{c}:log`, '-', '+');
        expect(entries.filter(([, fields]) => fields.includes('"unknown-outcome-probe"'))).toHaveLength(1);
      } finally {
        raw.disconnect();
      }
      // Redis down before the append is sent: nothing was stored, and it says so.
      const down = await history.append('c', [{ data: 'never sent' }]).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(HistoryUnavailableError);
      expect((down as HistoryUnavailableError).maybeStored).toBe(false);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('takes what it stored out of flight once Redis answers again, so subscribes on the channel are not held up until the in-flight TTL', async () => {
    const relay = await cuttingRelay(redis.url, 'settle-later-probe', { refuseAfterCut: true, reopenAfterMs: 10_000 });
    const prefix = `lost${++prefixCounter}:`;
    const raw = new Redis(redis.url);
    try {
      const history = await store({ prefix, url: relay.url });
      await history.append('c', [{ data: 'before' }]);
      const error = await history.append('c', [{ data: 'settle-later-probe' }]).catch((e: unknown) => e);
      expect((error as HistoryUnavailableError).maybeStored).toBe(true);
      const [probe] = (await raw.xrange(`${prefix}{c}:log`, '-', '+')).filter(([, fields]) => fields.includes('"settle-later-probe"'));
      const id = probe![0].replace(/-0$/, '');
      // Stored and in flight, and nothing will publish it.
      expect(await raw.zscore(`${prefix}{c}:fly`, id)).not.toBeNull();
      // Redis reachable again 10 s after the cut (the append gave up before): out of flight within moments, not the TTL's 60 s.
      let inFlight: string | null = 'unknown';
      for (let n = 0; n < 120 && inFlight !== null; n++) {
        await new Promise((r) => setTimeout(r, 100));
        inFlight = await raw.zscore(`${prefix}{c}:fly`, id);
      }
      expect(inFlight, 'the lost append is still in flight').toBeNull();
      expect(await history.stillInFlight('c', [id])).toEqual([]);
    } finally {
      raw.disconnect();
      await relay.close();
    }
  }, 30_000);
});
