// Every transport through the real Pushpin to the real origin: NDJSON streaming, long-poll and the
// WebSocket JSON protocol, one logical message in every framing, the history API and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeItemsForChannel } from '../../origin/publishing/gripItems.ts';
import { subscribeEveryTransport } from '../harness/channelSubscribers.ts';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { isProbe, recordWs, untilLive, type WsFrame } from '../harness/wsClient.ts';

const ROUTE = { 'pushpin-route': 'origin' };
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    originEnv: { WS_MAX_SUBSCRIPTIONS: '3', LONG_POLL_TIMEOUT_SECONDS: '5', ALLOW_CLIENT_PUBLISH: 'false' },
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function publishOk(body: unknown): Promise<Array<{ id: string; channel: string }>> {
  const response = await stack.publish(body);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string; channel: string }> }).messages;
}

const poll = (path: string) => fetch(`${stack.urls.pushpinProxy}${path}`, { headers: ROUTE });
const notProbe = (f: WsFrame) => !isProbe(f);

describe('NDJSON stream', () => {
  it('streams one JSON line per message, replaying after ?since=', async () => {
    const ids = (await publishOk({ items: [1, 2, 3].map((n) => ({ channel: 'lines', data: n })) })).map((m) => m.id);
    const client = recordNdjson(`${stack.urls.pushpinProxy}/stream/lines?since=${ids[0]}`, ROUTE);
    try {
      const response = await client.opened;
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      await client.waitFor(2);
      const [fourth] = await publishOk({ channel: 'lines', data: 4 });
      expect(await client.waitFor(3)).toMatchObject([
        { id: ids[1], channel: 'lines', data: 2 },
        { id: ids[2], data: 3 },
        { id: fourth!.id, data: 4 },
      ]);
    } finally {
      client.close();
    }
  });
});

describe('long-poll', () => {
  it('answers at once when messages after since are retained, saying where to poll from next', async () => {
    const ids = (await publishOk({ items: ['a', 'b'].map((data) => ({ channel: 'lp-now', data })) })).map((m) => m.id);
    const response = await poll('/poll/lp-now?since=0');
    expect(response.status).toBe(200);
    expect(response.headers.get('grip-hold')).toBeNull();
    const body = (await response.json()) as { messages: unknown[]; lastId: string };
    expect(body).toMatchObject({ messages: [{ id: ids[0], data: 'a' }, { id: ids[1], data: 'b' }], lastId: ids[1] });
  });

  it('holds until a message is published', async () => {
    const [old] = await publishOk({ channel: 'lp-wait', data: 'old' });
    const pending = poll(`/poll/lp-wait?since=${old!.id}`);
    // Whether this publish lands before the request, between the origin's read and the hold (prev-id
    // makes Pushpin retry) or during the hold, the poll answers with it.
    await new Promise((r) => setTimeout(r, 300));
    await publishOk({ channel: 'lp-wait', data: 'new-0' });
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { messages: Array<{ id: string; data: unknown }>; lastId: string };
    expect(body.messages[0]).toMatchObject({ id: (BigInt(old!.id) + 1n).toString(), channel: 'lp-wait', data: 'new-0' });
    expect(body.lastId).toBe(body.messages[0]!.id);
  });

  it('answers with no messages when the timeout passes, and the position to poll from (0 on a channel with none yet)', async () => {
    const response = await poll('/poll/lp-quiet');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { messages: unknown[]; lastId: string };
    expect(body).toEqual({ messages: [], lastId: '0' });
  });

  it('reports a position the history cannot continue from, and answers with what is retained', async () => {
    const ids = (await publishOk({ items: ['x', 'y'].map((data) => ({ channel: 'lp-reset', data })) })).map((m) => m.id);
    // Ahead of the channel (a client of another deployment, or before a flush): everything retained.
    const ahead = (await (await poll('/poll/lp-reset?since=999999999999999999')).json()) as Record<string, unknown>;
    expect(ahead).toMatchObject({ messages: [{ id: ids[0] }, { id: ids[1] }], lastId: ids[1], reset: { reason: 'ahead', since: '999999999999999999' } });
    // From before this channel's epoch (say, before an origin restart).
    const earlier = (await (await poll('/poll/lp-reset?since=5')).json()) as Record<string, unknown>;
    expect(earlier).toMatchObject({ messages: [{ id: ids[0] }, { id: ids[1] }], reset: { reason: 'restarted', since: '5' } });
  });

  it('refuses a malformed since', async () => {
    const response = await poll('/poll/lp-now?since=abc');
    expect(response.status).toBe(400);
  });
});

describe('WebSocket', () => {
  it('subscribes, answers pings, delivers published messages and unsubscribes', async () => {
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      ws.send({ type: 'subscribe', channel: 'chat' });
      ws.send({ type: 'subscribe', channel: 'chat-2' });
      await ws.waitFor(2, (f) => f.type === 'subscribed');
      ws.send({ type: 'ping' });
      await ws.waitFor(1, (f) => f.type === 'pong');
      await untilLive(ws, 'chat-2', stack.publish);
      // Once live, a pong names where each subscribed channel is (a client's check that it is not behind).
      ws.send({ type: 'ping' });
      const pongs = await ws.waitFor(2, (f) => f.type === 'pong');
      expect(pongs.at(-1)).toEqual({ type: 'pong', lastIds: { chat: expect.stringMatching(/^\d+$/), 'chat-2': expect.stringMatching(/^\d+$/) } });
      const [sent] = await publishOk({ channel: 'chat', data: { text: 'hi' } });
      const [message] = await ws.waitFor(1, (f) => f.type === 'message' && f.channel === 'chat' && notProbe(f));
      expect(message).toEqual({ type: 'message', prev: expect.stringMatching(/^\d+$/), id: sent!.id, channel: 'chat', data: { text: 'hi' }, ts: expect.any(Number) });
      expect(BigInt(message!.prev as string)).toBeLessThan(BigInt(sent!.id));

      ws.send({ type: 'unsubscribe', channel: 'chat' });
      await ws.waitFor(1, (f) => f.type === 'unsubscribed');
      // Pushpin applies the unsubscribe a moment after relaying `unsubscribed`, and relays the items
      // of one publish request in order: publish pairs until a chat-2 marker arrives without the chat
      // item published just before it.
      let unsubscribed = false;
      for (let n = 0; n < 30 && !unsubscribed; n++) {
        await publishOk({ items: [{ channel: 'chat', data: `after-${n}` }, { channel: 'chat-2', data: `marker-${n}` }] });
        await ws.waitFor(1, (f) => f.data === `marker-${n}`);
        unsubscribed = !ws.frames.some((f) => f.data === `after-${n}`);
      }
      expect(unsubscribed).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('answers bad frames with error codes and keeps the connection', async () => {
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      ws.send('not json');
      ws.send({ type: 'subscribe', channel: 'bad:name' });
      ws.send({ type: 'subscribe', channel: 'ok', since: 'x' });
      ws.send({ type: 'dance' });
      ws.send({ type: 'publish', channel: 'ok', data: 1 });
      const errors = await ws.waitFor(5, (f) => f.type === 'error');
      expect(errors.map((f) => f.code)).toEqual([
        'invalid_json',
        'invalid_channel',
        'invalid_since',
        'unknown_type',
        'publish_forbidden',
      ]);
      for (const error of errors) expect(typeof error.message).toBe('string');
      ws.send({ type: 'ping' });
      await ws.waitFor(1, (f) => f.type === 'pong');
    } finally {
      ws.close();
    }
  });

  it('caps subscriptions per connection', async () => {
    const ws = recordWs(stack.urls.pushpinProxy);
    try {
      await ws.opened;
      for (const channel of ['s1', 's2', 's3', 's4']) ws.send({ type: 'subscribe', channel });
      await ws.waitFor(3, (f) => f.type === 'subscribed');
      const [error] = await ws.waitFor(1, (f) => f.type === 'error');
      expect(error).toMatchObject({ code: 'too_many_subscriptions', channel: 's4' });
      // Re-subscribing to a channel already held does not count twice; unsubscribing frees a slot.
      ws.send({ type: 'subscribe', channel: 's1' });
      await ws.waitFor(4, (f) => f.type === 'subscribed');
      ws.send({ type: 'unsubscribe', channel: 's2' });
      ws.send({ type: 'subscribe', channel: 's4' });
      await ws.waitFor(5, (f) => f.type === 'subscribed');
      expect(ws.frames.filter((f) => f.type === 'subscribed').at(-1)).toMatchObject({ channel: 's4' });
    } finally {
      ws.close();
    }
  });

  it('closes with real codes: echoing the client, and 1000 when the channel is closed', async () => {
    const first = recordWs(stack.urls.pushpinProxy);
    await first.opened;
    first.close(4000, 'done');
    expect((await first.closed).code).toBe(4000);

    const second = recordWs(stack.urls.pushpinProxy);
    await second.opened;
    second.send({ type: 'subscribe', channel: 'closing' });
    await second.waitFor(1, (f) => f.type === 'subscribed');
    await untilLive(second, 'closing', stack.publish);
    const response = await fetch(`${stack.urls.pushpinPublish}/publish/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: closeItemsForChannel('closing') }),
    });
    expect(response.status).toBe(200);
    expect(await second.closed).toEqual({ code: 1000, reason: 'channel closed' });
  });

  it('refuses binary frames with close code 1003', async () => {
    const ws = recordWs(stack.urls.pushpinProxy);
    await ws.opened;
    ws.socket.send(Buffer.from([1, 2, 3]));
    expect((await ws.closed).code).toBe(1003);
    expect(ws.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'binary_unsupported' });
  });
});

describe('one logical message', () => {
  it('reaches SSE, NDJSON, long-poll and WebSocket subscribers in their framing, with one id', async () => {
    const channel = 'everywhere';
    const [seed] = await publishOk({ channel, data: 'seed' });
    const subscribers = await subscribeEveryTransport(stack.urls.pushpinProxy, channel);
    const { sse, ndjson, ws } = subscribers;
    try {
      await untilLive(ws, channel, stack.publish);
      const lastId = ((await (await fetch(`${stack.urls.origin}/api/channels/${channel}/messages?limit=1`)).json()) as {
        lastId: string;
      }).lastId;
      const longPoll = poll(`/poll/${channel}?since=${lastId}`);
      await new Promise((r) => setTimeout(r, 300));
      const [sent] = await publishOk({ channel, data: { shape: 'same' } });
      // SSE and NDJSON joined after the seed: they get the probes and this message.
      const count = Number(sent!.id) - Number(seed!.id);
      const expected = { id: sent!.id, channel, data: { shape: 'same' }, ts: expect.any(Number) };
      // The streams and the WebSocket also name the id it follows (the last probe's).
      const prev = (BigInt(sent!.id) - 1n).toString();

      const sseEvents = await sse.waitFor(count);
      expect(sseEvents.at(-1)).toEqual({ id: sent!.id, data: { prev, ...expected } });
      const lines = await ndjson.waitFor(count);
      expect(lines.at(-1)).toEqual({ prev, ...expected });
      const [wsMessage] = await ws.waitFor(1, (f) => f.type === 'message' && notProbe(f));
      expect(wsMessage).toEqual({ type: 'message', prev, ...expected });
      const polled = (await (await longPoll).json()) as { messages: unknown[] };
      expect(polled.messages).toEqual([expected]);
    } finally {
      subscribers.close();
    }
  });
});

describe('history API and metrics on the origin', () => {
  it('serves retained history as JSON', async () => {
    const ids = (await publishOk({ items: [1, 2, 3].map((n) => ({ channel: 'hist', data: n })) })).map((m) => m.id);
    const response = await fetch(`${stack.urls.origin}/api/channels/hist/messages?since=${ids[0]}&limit=1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      channel: 'hist',
      lastId: ids[2],
      messages: [{ id: ids[1], channel: 'hist', data: 2, ts: expect.any(Number) }],
      next: ids[1],
    });
    expect((await fetch(`${stack.urls.origin}/api/channels/bad:name/messages`)).status).toBe(400);
    expect((await fetch(`${stack.urls.origin}/api/channels/hist/messages?limit=0`)).status).toBe(400);
  });

  it('exposes Prometheus metrics to the token holder only', async () => {
    expect((await fetch(`${stack.urls.origin}/metrics`)).status).toBe(401);
    const response = await fetch(`${stack.urls.origin}/metrics`, {
      headers: { Authorization: `Bearer ${stack.publishToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^origin_messages_published_total\{source="api"\} [1-9]/m);
    expect(text).toMatch(/^origin_holds_opened_total\{transport="ws"\} [1-9]/m);
    expect(text).toMatch(/^origin_websocket_events_total\{event="open"\} [1-9]/m);
    expect(text).toMatch(/^origin_process_cpu_seconds_total /m);
  });
});
