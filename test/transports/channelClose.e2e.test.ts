// POST /api/channels/:channel/close against the real Pushpin: the origin's SSE and NDJSON holds and its
// WebSocket subscribers all end with one close (it goes to their live channels, which have no sequence
// check), on a channel with messages, on an empty one and for a stream resumed at another position,
// and the channel works again afterwards. Also the token, channel-name and proxy-failure answers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { subscribeEveryTransport } from '../harness/channelSubscribers.ts';
import { startExtraOrigin } from '../harness/originProcess.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordLines } from '../harness/transportSubscribers.ts';
import { recordWs, type WsRecorder } from '../harness/wsClient.ts';

const ROUTE = { 'pushpin-route': 'origin' };
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** `token: null` sends no Authorization header. */
function closeChannel(channel: string, token: string | null = stack.publishToken): Promise<Response> {
  return fetch(`${stack.urls.origin}/api/channels/${channel}/close`, {
    method: 'POST',
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
  });
}

async function publishOk(body: unknown): Promise<string[]> {
  const response = await stack.publish(body);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

/**
 * SSE and NDJSON read as raw streams (an EventSource would reconnect), and a subscribed WebSocket.
 * `since` resumes the NDJSON stream from an earlier position than the SSE one.
 */
async function subscribeAll(channel: string, since?: string) {
  const sse = recordLines(`${stack.urls.pushpinProxy}/events/${channel}`, ROUTE);
  const ndjson = recordLines(`${stack.urls.pushpinProxy}/stream/${channel}${since ? `?since=${since}` : ''}`, ROUTE);
  const ws = recordWs(stack.urls.pushpinProxy);
  await Promise.all([sse.opened, ndjson.opened, ws.opened]);
  ws.send({ type: 'subscribe', channel });
  await ws.waitFor(1, (f) => f.type === 'subscribed');
  return { sse, ndjson, ws, close: () => [sse, ndjson, ws].forEach((s) => s.close()) };
}

/** One close ends every subscriber: the holds are in place once their headers (or `subscribed`) arrived. */
async function closeEndsAll(channel: string, subscribers: { sse: { ended: Promise<void> }; ndjson: { ended: Promise<void> }; ws: WsRecorder }): Promise<void> {
  const response = await closeChannel(channel);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ channel, closed: true });
  await Promise.all([subscribers.sse.ended, subscribers.ndjson.ended, subscribers.ws.closed]);
  expect(await subscribers.ws.closed).toEqual({ code: 1000, reason: 'channel closed' });
}

/** After a close the channel is usable: new subscribers connect and receive the next message. */
async function expectChannelWorks(channel: string): Promise<void> {
  const subscribers = await subscribeEveryTransport(stack.urls.pushpinProxy, channel);
  const { sse, ndjson, ws } = subscribers;
  try {
    const [nextId] = await publishOk({ channel, data: 'after close' });
    const [event] = await sse.waitFor(1);
    expect(event).toMatchObject({ id: nextId, data: { id: nextId, data: 'after close' } });
    expect(await ndjson.waitFor(1)).toMatchObject([{ id: nextId, data: 'after close' }]);
    expect(await ws.waitFor(1, (f) => f.type === 'message')).toMatchObject([{ id: nextId, data: 'after close' }]);
  } finally {
    subscribers.close();
  }
}

describe('POST /api/channels/:channel/close', () => {
  it('ends SSE, NDJSON and WebSocket subscribers of a channel with messages; the channel works afterwards', async () => {
    const channel = 'close-busy';
    const [first] = await publishOk({ items: [1, 2].map((data) => ({ channel, data })) });
    // The NDJSON stream resumes from the first message: it holds at another position than the SSE one.
    const subscribers = await subscribeAll(channel, first);
    try {
      await closeEndsAll(channel, subscribers);
    } finally {
      subscribers.close();
    }
    await expectChannelWorks(channel);
  });

  it('ends them on a channel with no messages yet', async () => {
    const channel = 'close-empty';
    const subscribers = await subscribeAll(channel);
    try {
      await closeEndsAll(channel, subscribers);
    } finally {
      subscribers.close();
    }
    await expectChannelWorks(channel);
  });

  it('counts closes in /metrics', async () => {
    expect((await closeChannel('close-counted')).status).toBe(200);
    const metrics = await fetch(`${stack.urls.origin}/metrics`, { headers: { Authorization: `Bearer ${stack.publishToken}` } });
    expect(await metrics.text()).toMatch(/^origin_channels_closed_total [1-9]/m);
  });

  it('needs the publish token', async () => {
    for (const token of [null, 'wrong-token']) {
      const response = await closeChannel('close-auth', token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await response.json()).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('refuses a bad channel name with 400', async () => {
    for (const channel of ['.hidden', 'a%20b', 'x'.repeat(129)]) {
      const response = await closeChannel(channel);
      expect(response.status, channel).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/channel must be/) });
    }
  });

  it('answers 502 with a clear message when the GRIP proxy is unreachable', async () => {
    const unreachable = `http://127.0.0.1:${await findFreePort()}`;
    const origin = await startExtraOrigin({
      name: 'origin-no-proxy',
      pushpinPublishUrl: unreachable,
      logDir: mkdtempSync(join(tmpdir(), 'close-502-')),
      env: { PUBLISH_TOKEN: stack.publishToken },
    });
    try {
      const response = await fetch(`${origin.url}/api/channels/nowhere/close`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stack.publishToken}` },
      });
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({
        error: 'publish_failed',
        message: expect.stringMatching(/^closing nowhere failed: .*127\.0\.0\.1/),
      });
    } finally {
      await origin.stop();
    }
  });
});
