// Positions survive restarts: ids never go backwards, and nothing is lost or doubled for clients that
// Pushpin keeps holding while the origin restarts (with the memory history, which starts over, and with
// Redis, which keeps it), or that come back after the whole stack restarted. The three run side by side,
// each on stacks of its own (the whole stack starts again on ports this process leased: portBlocks.ts
// hands none of them to another stack meanwhile).
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { subscribeEvery, type EveryTransport } from '../harness/everyTransport.ts';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import type { ExtraOrigin } from '../harness/originProcess.ts';
import { replaceStackOrigin } from '../harness/replaceStackOrigin.ts';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordLines } from '../harness/transportSubscribers.ts';
import { recordWs } from '../harness/wsClient.ts';

async function publishIds(expect: ExpectStatic, origin: string, token: string, channel: string, values: unknown[]): Promise<string[]> {
  const response = await fetch(`${origin}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ items: values.map((data) => ({ channel, data })) }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

const messageIds = (values: unknown[]): string[] =>
  values.filter((v) => (v as { type?: string }).type === undefined).map((v) => (v as { id: string }).id);

/** Every subscriber has `expected`, each once and in order, and nothing else. */
async function expectExactly(expect: ExpectStatic, subscribers: EveryTransport, expected: string[]): Promise<void> {
  const seen = () => ({
    sse: subscribers.sse.events.map((e) => e.id),
    ndjson: messageIds(subscribers.ndjson.lines),
    poll: messageIds(subscribers.poll.messages),
    ws: subscribers.ws.frames.filter((f) => f.type === 'message').map((f) => f.id as string),
  });
  const deadline = Date.now() + 20_000;
  while (Object.values(seen()).some((ids) => ids.length < expected.length) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(seen()).toEqual({ sse: expected, ndjson: expected, poll: expected, ws: expected });
}

describe.concurrent.each([
  { store: 'memory history', redis: false },
  { store: 'Redis history', redis: true },
])('the origin restarts while Pushpin holds every client ($store)', ({ redis: withRedis }) => {
  let redis: RunningRedis | undefined;
  let stack: TestStack;
  let restarted: ExtraOrigin | undefined;
  const env = (): Record<string, string> => (redis ? { REDIS_URL: redis.url } : {});

  beforeAll(async () => {
    redis = withRedis ? await startRedisServer() : undefined;
    stack = await startTestStack({ edge: true, originEnv: { ...env(), LONG_POLL_TIMEOUT_SECONDS: '30' } });
  });
  afterAll(async () => {
    await restarted?.stop();
    await stack?.stop();
    await redis?.stop();
  });

  it('every held client gets every later message once, ids increasing', async ({ expect }) => {
    const channel = 'held';
    const subscribers = await subscribeEvery(stack.urls.edge!, channel, stack.logFiles.pushpin);
    try {
      const before = await publishIds(expect, stack.urls.origin, stack.publishToken, channel, ['a', 'b', 'c']);
      await expectExactly(expect, subscribers, before);
      restarted = await replaceStackOrigin(stack, 'origin-restarted', { LONG_POLL_TIMEOUT_SECONDS: '30', ...env() });
      const after = [
        ...(await publishIds(expect, restarted.url, stack.publishToken, channel, ['d'])),
        ...(await publishIds(expect, restarted.url, stack.publishToken, channel, ['e', 'f'])),
      ];
      expect(BigInt(after[0]!) > BigInt(before[2]!)).toBe(true);
      await expectExactly(expect, subscribers, [...before, ...after]);
      // Redis kept the sequence: the first message after the restart follows the last one before. The
      // memory history started a new epoch, whose first message follows "0": a stream client applying
      // the prev rule sees that it is not its last id, comes back from it and is told the position
      // could not be continued (then gets everything retained, which is what came after).
      const prevOf = (id: string) => (subscribers.ndjson.lines.find((l) => (l as { id?: string }).id === id) as { prev?: string }).prev;
      expect(prevOf(after[0]!)).toBe(withRedis ? before[2] : '0');
      expect([prevOf(after[1]!), prevOf(after[2]!)]).toEqual([after[0], after[1]]);
      const back = recordNdjson(`${stack.urls.edge}/stream/${channel}?since=${before[2]}`);
      try {
        const lines = await back.waitFor(withRedis ? 3 : 4);
        expect(lines[0]).toEqual(withRedis ? expect.objectContaining({ id: after[0], prev: before[2] }) : { type: 'reset', channel, reason: 'restarted', since: before[2], after: '0' });
        expect(messageIds(lines)).toEqual(after);
      } finally {
        back.close();
      }
    } finally {
      subscribers.close();
    }
  }, 60_000);
});

describe.concurrent('the whole stack restarts', () => {
  it('a client resuming with its last id gets the next message, with a higher id, and is told of the restart', async ({ expect }) => {
    const channel = 'comeback';
    let stack = await startTestStack({ edge: true });
    const ports = stack.ports;
    let last: string;
    try {
      [, , last] = (await publishIds(expect, stack.urls.origin, stack.publishToken, channel, [1, 2, 3])) as [string, string, string];
    } finally {
      await stack.stop();
    }
    stack = await startTestStack({ edge: true, ports });
    try {
      const sse = recordSse(`${stack.urls.edge}/events/${channel}`, { 'Last-Event-ID': last });
      const sseRaw = recordLines(`${stack.urls.edge}/events/${channel}`, { 'Last-Event-ID': last });
      const ndjson = recordNdjson(`${stack.urls.edge}/stream/${channel}?since=${last}`);
      const ws = recordWs(stack.urls.edge!);
      await Promise.all([sse.opened, sseRaw.opened, ndjson.opened, ws.opened]);
      ws.send({ type: 'subscribe', channel, since: last });
      const [subscribed] = await ws.waitFor(1, (f) => f.type === 'subscribed');
      expect(subscribed).toMatchObject({ reset: { reason: 'restarted', since: last } });
      const poll = (await (await fetch(`${stack.urls.edge}/poll/${channel}?since=${last}`)).json()) as Record<string, unknown>;
      expect(poll).toMatchObject({ messages: [], reset: { reason: 'restarted', since: last } });
      const [next] = await publishIds(expect, stack.urls.origin, stack.publishToken, channel, ['after restart']);
      expect(BigInt(next!) > BigInt(last)).toBe(true);
      expect((await sse.waitFor(1)).map((e) => e.id)).toEqual([next]);
      expect(messageIds(await ndjson.waitFor(2))).toEqual([next]);
      expect(ndjson.lines[0]).toMatchObject({ type: 'reset', reason: 'restarted', since: last });
      expect((await ws.waitFor(1, (f) => f.type === 'message')).map((f) => f.id)).toEqual([next]);
      // EventSource never sees the reset event (it is named), but it is on the wire first.
      await sseRaw.waitFor(2);
      expect(sseRaw.received.slice(0, 2)).toEqual(['event: reset', expect.stringMatching(/^data: \{"channel":"comeback","reason":"restarted"/)]);
      for (const client of [sse, sseRaw, ndjson, ws]) client.close();
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
