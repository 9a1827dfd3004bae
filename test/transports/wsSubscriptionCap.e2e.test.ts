// Fanout allows 20 subscriptions per connection (Fastly's build: connection_subscription_max=20; the
// local stack's Pushpin has the same cap), counting every GRIP channel the connection holds: a
// private channel's subscription also holds its token's expiry channel. The origin counts the same
// way and refuses the subscribe that would pass the cap with a clear error frame, instead of Pushpin
// dropping it silently. The connection state the proxy carries for all of them (proxy meta, on every
// WebSocket-over-HTTP request beside the client's own headers, cookies included) stays within the
// origin's header limit.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const SECRET = 'cap-test-subscribe-token-secret-0123456789';
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET } });
});
afterAll(async () => {
  await stack?.stop();
});

interface Frame {
  type: string;
  channel?: string;
  code?: string;
  message?: string;
  id?: string;
}

/** A WebSocket through Pushpin with a large cookie, as a browser on a busy site sends: 6 KB, since a
 * request head past the 8 KiB client buffer Fanout runs is reset by the proxy before the origin sees it. */
async function connect(): Promise<{ socket: WebSocket; frames: Frame[]; until(check: () => boolean, what: string): Promise<void> }> {
  const cookie = Array.from({ length: 6 }, (_, i) => `c${i}=${'v'.repeat(1000)}`).join('; ');
  const socket = new WebSocket(`${stack.urls.pushpinProxy.replace(/^http/, 'ws')}/ws`, { headers: { 'pushpin-route': 'origin', Cookie: cookie } });
  const frames: Frame[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.map((f) => [f.type, f.code ?? f.channel?.slice(-4)]))}`);
      if (socket.readyState !== WebSocket.OPEN) throw new Error(`the connection closed waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { socket, frames, until };
}

async function publishEach(channels: string[]): Promise<string[]> {
  const response = await stack.publish({ items: channels.map((channel) => ({ channel, data: channel.slice(-6) })) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

const longName = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, '0')}-${'n'.repeat(128 - prefix.length - 4)}`;

describe('20 subscriptions per connection, as Fanout counts them', () => {
  it('20 public channels with 128-character names: all subscribed and delivering; the 21st is refused with a clear error', async () => {
    const channels = Array.from({ length: 21 }, (_, i) => longName('public-', i));
    const { socket, frames, until } = await connect();
    for (const channel of channels) socket.send(JSON.stringify({ type: 'subscribe', channel }));
    await until(() => frames.filter((f) => f.type === 'subscribed' || f.type === 'error').length >= 21, '21 answers');
    expect(frames.filter((f) => f.type === 'subscribed').map((f) => f.channel)).toEqual(channels.slice(0, 20));
    expect(frames.filter((f) => f.type === 'error')).toEqual([expect.objectContaining({ code: 'too_many_subscriptions', channel: channels[20] })]);
    // Give the proxy a moment to apply the last subscriptions, then every channel delivers.
    await new Promise((r) => setTimeout(r, 1500));
    const ids = await publishEach(channels.slice(0, 20));
    await until(() => frames.filter((f) => f.type === 'message').length >= 20, '20 messages');
    expect(frames.filter((f) => f.type === 'message').map((f) => f.id).sort()).toEqual([...ids].sort());
    socket.close();
  }, 60_000);

  it('private channels with tokens of 20 different expiries: the expiry channel counts, 19 subscribed and delivering, the 20th refused', async () => {
    const channels = Array.from({ length: 20 }, (_, i) => longName('private-', i));
    const { socket, frames, until } = await connect();
    for (const [i, channel] of channels.entries()) {
      const token = await signSubscribeToken({ channels: [channel], ttlSeconds: 600 + i }, SECRET);
      socket.send(JSON.stringify({ type: 'subscribe', channel, token }));
    }
    await until(() => frames.filter((f) => f.type === 'subscribed' || f.type === 'error').length >= 20, '20 answers');
    expect(frames.filter((f) => f.type === 'subscribed').map((f) => f.channel)).toEqual(channels.slice(0, 19));
    const refused = frames.filter((f) => f.type === 'error');
    expect(refused).toEqual([expect.objectContaining({ code: 'too_many_subscriptions', channel: channels[19] })]);
    expect(refused[0]!.message).toMatch(/expir/);
    await new Promise((r) => setTimeout(r, 1500));
    const ids = await publishEach(channels.slice(0, 19));
    await until(() => frames.filter((f) => f.type === 'message').length >= 19, '19 messages');
    expect(frames.filter((f) => f.type === 'message').map((f) => f.id).sort()).toEqual([...ids].sort());
    socket.close();
  }, 60_000);
});
