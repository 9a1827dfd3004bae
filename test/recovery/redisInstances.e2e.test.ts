// Two origin instances sharing one Redis (REDIS_URL): ids increase per channel whichever instance
// publishes, and a client recovers through one instance what was published through the other.
import { dirname } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExtraOrigin, type ExtraOrigin } from '../harness/originProcess.ts';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordWs } from '../harness/wsClient.ts';

const ROUTE = { 'pushpin-route': 'origin' };
let redis: RunningRedis;
let stack: TestStack;
let second: ExtraOrigin;

beforeAll(async () => {
  redis = await startRedisServer();
  stack = await startTestStack({ originEnv: { REDIS_URL: redis.url } });
  second = await startExtraOrigin({
    name: 'origin-2',
    pushpinPublishUrl: stack.urls.pushpinPublish,
    logDir: dirname(stack.logFiles.origin),
    env: { REDIS_URL: redis.url, PUBLISH_TOKEN: stack.publishToken },
  });
});
afterAll(async () => {
  await second?.stop();
  await stack?.stop();
  await redis?.stop();
});

/** Publishes through the second instance (Pushpin's route goes to the first). */
async function publishViaSecond(channel: string, values: unknown[]): Promise<string[]> {
  const response = await fetch(`${second.url}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ items: values.map((data) => ({ channel, data })) }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

describe('unauthenticated reads of channels nobody published to', () => {
  it('create no key in Redis: history API reads, SSE/NDJSON holds and long-polls on 150 random channel names', async () => {
    const raw = new Redis(redis.url);
    try {
      await stack.publish({ channel: 'warm-up', data: 1 });
      const before = await raw.dbsize();
      const names = Array.from({ length: 50 }, (_, n) => `random-${n}-${Math.random().toString(36).slice(2)}`);
      for (const name of names) {
        const response = await fetch(`${stack.urls.origin}/api/channels/${name}/messages?since=0`);
        expect(((await response.json()) as { lastId: string }).lastId).toBe('0');
      }
      // Holds through Pushpin: each opens and goes away, as a crawler's would (a long-poll answers only
      // when held to its end, so each is given a moment to reach the origin, then dropped).
      // 30 at a time: Pushpin 1.36 answers 502 when more than 100 requests wait for zurl.
      const held: Array<number | string> = [];
      const requests = names.flatMap((n) => [['events', `${n}-s`], ['stream', `${n}-n`], ['poll', `${n}-p`]] as const);
      for (let i = 0; i < requests.length; i += 30) {
        const batch = await Promise.all(
          requests.slice(i, i + 30).map(async ([prefix, name]) => {
            const controller = new AbortController();
            const response = fetch(`${stack.urls.pushpinProxy}/${prefix}/${name}`, { headers: ROUTE, signal: controller.signal }).then((r) => r.status, () => 'aborted');
            await new Promise((r) => setTimeout(r, 1000));
            controller.abort();
            return response;
          }),
        );
        held.push(...batch);
      }
      expect(held.filter((status) => status !== 200 && status !== 'aborted')).toEqual([]);
      expect(await raw.dbsize()).toBe(before);
    } finally {
      raw.disconnect();
    }
  }, 60_000);
});

describe('two origins, one Redis', () => {
  it('share one increasing id sequence per channel', async () => {
    const [a] = await publishViaSecond('shared', ['a']);
    const first = (await (await stack.publish({ channel: 'shared', data: 'b' })).json()) as { messages: Array<{ id: string }> };
    const [c] = await publishViaSecond('shared', ['c']);
    const ids = [a!, first.messages[0]!.id, c!].map(BigInt);
    expect([ids[1]! - ids[0]!, ids[2]! - ids[1]!]).toEqual([1n, 1n]);
    const history = (await (await fetch(`${stack.urls.origin}/api/channels/shared/messages`)).json()) as {
      messages: Array<{ data: unknown }>;
    };
    expect(history.messages.map((m) => m.data)).toEqual(['a', 'b', 'c']);
  });

  it('SSE: publish through one, recover through the other', async () => {
    const channel = 'redis-sse';
    const [seen] = await publishViaSecond(channel, ['seen']);
    const missed = await publishViaSecond(channel, ['m1', 'm2', 'm3']);
    const client = recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, { ...ROUTE, 'Last-Event-ID': seen! });
    try {
      await client.waitFor(3);
      const [live] = await publishViaSecond(channel, ['live']);
      await client.waitFor(4);
      expect(client.events.map((e) => e.id)).toEqual([...missed, live]);
    } finally {
      client.close();
    }
  });

  it('long-poll: publish through one, recover through the other', async () => {
    const channel = 'redis-poll';
    const [seen] = await publishViaSecond(channel, ['seen']);
    const missed = await publishViaSecond(channel, ['m1', 'm2', 'm3']);
    const response = await fetch(`${stack.urls.pushpinProxy}/poll/${channel}?since=${seen}`, { headers: ROUTE });
    const body = (await response.json()) as { messages: Array<{ id: string }> };
    expect(body.messages.map((m) => m.id)).toEqual(missed);
  });

  it('WebSocket: publish through one, recover through the other', async () => {
    const channel = 'redis-ws';
    const [seen] = await publishViaSecond(channel, ['seen']);
    const missed = await publishViaSecond(channel, ['m1', 'm2', 'm3']);
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      ws.send({ type: 'subscribe', channel, since: seen });
      const messages = await ws.waitFor(3, (f) => f.type === 'message');
      expect(messages.map((f) => [f.id, f.data])).toEqual([
        [missed[0], 'm1'],
        [missed[1], 'm2'],
        [missed[2], 'm3'],
      ]);
    } finally {
      ws.close();
    }
  });
});

describe('an unreachable Redis', () => {
  it('stops the origin at start with a message naming REDIS_URL', async () => {
    await expect(
      startExtraOrigin({
        name: 'origin-no-redis',
        pushpinPublishUrl: stack.urls.pushpinPublish,
        logDir: dirname(stack.logFiles.origin),
        env: { REDIS_URL: 'redis://127.0.0.1:1' },
      }),
    ).rejects.toThrow(/exited before it was ready[\s\S]*REDIS_URL: cannot reach Redis at 127\.0\.0\.1:1/);
  });
});
