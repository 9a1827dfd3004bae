// Batches and retries through the origin's POST /api/publish: a batch that fails halfway says exactly
// what was stored and published, a retry with the same requested ids stores nothing twice, a history
// store that is down answers 503 with nothing stored, and hostile data is refused before anything is
// stored. Also what a WebSocket client may not do, and a WebSocket subscribe whose replay is larger
// than Pushpin accepts in one answer. And the publish API's own path (ahead of Express) answering
// every kind of request as Express's route does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, TEST_PUBLISH_TOKEN, type TestStack } from '../harness/testStack.ts';
import { recordWs } from '../harness/wsClient.ts';

const ROUTE = { 'pushpin-route': 'origin' };
let redis: RunningRedis;
let stack: TestStack;
const dataDir = mkdtempSync(join(tmpdir(), 'redis-batches-'));

beforeAll(async () => {
  redis = await startRedisServer({ dataDir });
  stack = await startTestStack({ originEnv: { REDIS_URL: redis.url, ALLOW_CLIENT_PUBLISH: 'true' } });
});
afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

async function history(channel: string): Promise<Array<{ id: string; data: unknown }>> {
  const body = (await (await fetch(`${stack.urls.origin}/api/channels/${channel}/messages?since=0`)).json()) as {
    messages: Array<{ id: string; data: unknown }>;
  };
  return body.messages;
}

describe('a batch that cannot be stored whole', () => {
  it('publishes what was stored and lists exactly that; nothing of the failing channel is stored', async () => {
    const sse = recordSse(`${stack.urls.pushpinProxy}/events/half-a`, ROUTE);
    await sse.opened;
    try {
      const [seed] = ((await (await stack.publish({ channel: 'half-b', data: 'seed' })).json()) as { messages: Array<{ id: string }> }).messages;
      const response = await stack.publish({
        items: [
          { channel: 'half-a', data: 1 },
          { channel: 'half-a', data: 2 },
          { channel: 'half-b', data: 'ok' },
          // Below the channel's last id and never stored: a conflict.
          { channel: 'half-b', data: 'clash', id: (BigInt(seed!.id) - 5n).toString() },
        ],
      });
      expect(response.status).toBe(409);
      const body = (await response.json()) as { error: string; index: number; stored: Array<{ id: string; channel: string }> };
      expect(body).toMatchObject({ error: 'id_conflict', index: 3 });
      expect(body.stored.map((m) => m.channel)).toEqual(['half-a', 'half-a']);
      // Stored means published: the SSE subscriber has them, and the history has them.
      const events = await sse.waitFor(2);
      expect(events.map((e) => e.id)).toEqual(body.stored.map((m) => m.id));
      expect((await history('half-a')).map((m) => m.data)).toEqual([1, 2]);
      expect((await history('half-b')).map((m) => m.data)).toEqual(['seed']);
    } finally {
      sse.close();
    }
  });

  it('a retry with the same requested ids stores and publishes nothing twice', async () => {
    const sse = recordSse(`${stack.urls.pushpinProxy}/events/retry`, ROUTE);
    await sse.opened;
    try {
      // Requested ids follow the channel's last id: a channel nobody published to is at 0, below its
      // epoch (which its first append starts), so the channel gets a first message to count from.
      const seed = ((await (await stack.publish({ channel: 'retry', data: 'seed' })).json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
      await sse.waitFor(1);
      const items = [1, 2, 3].map((n) => ({ channel: 'retry', data: { n }, id: (BigInt(seed) + BigInt(n)).toString() }));
      const first = await stack.publish({ items: items.slice(0, 2) });
      expect(first.status).toBe(200);
      // The caller did not see the answer (a timeout, say) and sends the whole batch again.
      const retry = await stack.publish({ items });
      expect(retry.status, await retry.clone().text()).toBe(200);
      const { messages } = (await retry.json()) as { messages: Array<{ id: string; duplicate?: boolean }> };
      expect(messages.map((m) => [m.id, m.duplicate ?? false])).toEqual([
        [items[0]!.id, true],
        [items[1]!.id, true],
        [items[2]!.id, false],
      ]);
      await sse.waitFor(4);
      await new Promise((r) => setTimeout(r, 300));
      expect(sse.events.map((e) => e.id)).toEqual([seed, ...items.map((i) => i.id)]);
      expect((await history('retry')).map((m) => m.id)).toEqual([seed, ...items.map((i) => i.id)]);
      // The same id with other data is a conflict, not a retry.
      const other = await stack.publish({ channel: 'retry', data: 'different', id: items[0]!.id });
      expect(other.status).toBe(409);
    } finally {
      sse.close();
    }
  });
});

describe('the history store down', () => {
  it('answers 503 with Retry-After and stores nothing; publishing works again when it is back', async () => {
    await redis.stop();
    try {
      const response = await stack.publish({ items: [{ channel: 'outage', data: 1 }] });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toMatchObject({ error: 'history_unavailable', stored: [] });
    } finally {
      redis = await startRedisServer({ dataDir, port: redis.port });
    }
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await stack.publish({ channel: 'outage', data: 2 })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await history('outage')).map((m) => m.data)).toEqual([2]);
  });
});

describe('the publish API off Express and through it', () => {
  // POST /api/publish is taken on Node's own request ahead of Express; any other spelling of the path
  // (here the trailing slash) reaches Express's router, which has the same route. Both must answer alike.
  const json = { 'Content-Type': 'application/json' };
  const auth = { Authorization: `Bearer ${TEST_PUBLISH_TOKEN}` };
  const requests: Array<{ what: string; headers: Record<string, string>; body?: (channel: string) => string | Uint8Array; status: number }> = [
    { what: 'one message', headers: { ...auth, ...json }, body: (c) => JSON.stringify({ channel: c, data: 1 }), status: 200 },
    { what: 'a gzip body', headers: { ...auth, ...json, 'Content-Encoding': 'gzip' }, body: (c) => gzipSync(JSON.stringify({ items: [{ channel: c, data: 2 }] })), status: 200 },
    { what: 'a charset parameter', headers: { ...auth, 'Content-Type': 'application/json; charset=utf-8' }, body: (c) => JSON.stringify({ channel: c, data: 3 }), status: 200 },
    { what: 'no token', headers: json, body: (c) => JSON.stringify({ channel: c, data: 0 }), status: 401 },
    { what: 'a wrong token', headers: { Authorization: 'Bearer nope', ...json }, body: (c) => JSON.stringify({ channel: c, data: 0 }), status: 401 },
    { what: 'text/plain', headers: { ...auth, 'Content-Type': 'text/plain' }, body: (c) => JSON.stringify({ channel: c, data: 0 }), status: 415 },
    { what: 'an empty body', headers: { ...auth, ...json }, status: 400 },
    { what: 'a latin-1 body', headers: { ...auth, 'Content-Type': 'application/json; charset=latin1' }, body: (c) => JSON.stringify({ channel: c, data: 0 }), status: 415 },
    { what: 'an unknown encoding', headers: { ...auth, ...json, 'Content-Encoding': 'compress' }, body: (c) => JSON.stringify({ channel: c, data: 0 }), status: 415 },
    { what: 'a body that is not JSON', headers: { ...auth, ...json }, body: () => '{"channel":', status: 400 },
    { what: 'a bad channel name', headers: { ...auth, ...json }, body: () => JSON.stringify({ channel: 'no spaces', data: 0 }), status: 400 },
    { what: 'a body over the 8 MB cap', headers: { ...auth, ...json }, body: (c) => JSON.stringify({ channel: c, data: 'x'.repeat(9 * 1024 * 1024) }), status: 413 },
  ];
  const answer = async (path: string, request: (typeof requests)[number], channel: string) => {
    const response = await fetch(`${stack.urls.origin}${path}`, { method: 'POST', headers: request.headers, ...(request.body ? { body: request.body(channel) } : {}) });
    const body = (await response.json()) as Record<string, unknown>;
    const headers = Object.fromEntries(['content-type', 'cache-control', 'www-authenticate'].map((h) => [h, response.headers.get(h)]));
    // Ids and timestamps differ by nature; the rest of a 200 must not.
    const shape = Array.isArray(body.messages) ? { messages: (body.messages as Array<Record<string, unknown>>).map((m) => Object.keys(m).sort()) } : body;
    return { status: response.status, headers, shape };
  };

  it('answers every kind of request the same on both paths', async () => {
    for (const [n, request] of requests.entries()) {
      const direct = await answer('/api/publish', request, `paths-direct-${n}`);
      const routed = await answer('/api/publish/', request, `paths-routed-${n}`);
      expect(direct.status, request.what).toBe(request.status);
      expect(routed, request.what).toEqual(direct);
      expect(direct.headers['cache-control'], request.what).toBe('no-store');
    }
    // What was accepted was stored, once per path.
    expect((await history('paths-direct-1')).map((m) => m.data)).toEqual([2]);
    expect((await history('paths-routed-1')).map((m) => m.data)).toEqual([2]);
    expect(await history('paths-direct-3')).toEqual([]);
  });
});

describe('hostile data', () => {
  it('refuses data nested deeper than 100 levels with 400 (5000 levels used to be a 500)', async () => {
    // Written as text: JSON.stringify itself overflows the stack on such values.
    const publishNested = (depth: number) =>
      fetch(`${stack.urls.origin}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' },
        body: `{"channel":"deep","data":${'['.repeat(depth)}"leaf"${']'.repeat(depth)}}`,
      });
    for (const depth of [101, 5000]) {
      const response = await publishNested(depth);
      expect(response.status, `depth ${depth}`).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(/nests deeper than 100 levels/);
    }
    expect((await publishNested(99)).status).toBe(200);
    expect((await history('deep')).length).toBe(1);
  });
});

describe('WebSocket clients', () => {
  it('may not choose ids: a chosen one is refused and nothing is stored', async () => {
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      ws.send({ type: 'publish', channel: 'chosen', data: 1, id: '1234567890123456789' });
      const [error] = await ws.waitFor(1, (f) => f.type === 'error');
      expect(error).toMatchObject({ code: 'invalid_message', channel: 'chosen' });
      expect(await history('chosen')).toEqual([]);
    } finally {
      ws.close();
    }
  });

  it('two subscribes with replays larger than one answer may carry (1 MB) both arrive whole', async () => {
    const pad = 'x'.repeat(2000);
    const seeds: Record<string, string> = {};
    for (const channel of ['big-1', 'big-2']) {
      const { lastId } = (await (await fetch(`${stack.urls.origin}/api/channels/${channel}/messages`)).json()) as { lastId: string };
      seeds[channel] = lastId;
      for (let batch = 0; batch < 3; batch++) {
        const response = await stack.publish({ items: Array.from({ length: 100 }, (_, n) => ({ channel, data: { n: batch * 100 + n, pad } })) });
        expect(response.status).toBe(200);
      }
    }
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      // Sent together, so the proxy carries them to the origin in one request.
      ws.send({ type: 'subscribe', channel: 'big-1', since: seeds['big-1'] });
      ws.send({ type: 'subscribe', channel: 'big-2', since: seeds['big-2'] });
      const messages = await ws.waitFor(600, (f) => f.type === 'message', 30_000);
      for (const channel of ['big-1', 'big-2']) {
        expect(messages.filter((m) => m.channel === channel).map((m) => (m.data as { n: number }).n)).toEqual(Array.from({ length: 300 }, (_, n) => n));
      }
      ws.send({ type: 'ping' });
      await ws.waitFor(1, (f) => f.type === 'pong');
    } finally {
      ws.close();
    }
  }, 60_000);
});
