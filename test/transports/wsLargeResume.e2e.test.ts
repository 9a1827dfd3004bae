// A WebSocket resubscribing to many channels with `since` at once, each with a long backlog: Pushpin
// drops a connection whose WebSocket-over-HTTP answer is over 1,000,000 bytes, so the catch-up of all
// channels together must stay under it, answer by answer. Through the real Pushpin: every message
// arrives once, in order, and the connection stays.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordWs } from '../harness/wsClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ originEnv: { HISTORY_MAX_MESSAGES: '2000' } });
});
afterAll(async () => {
  await stack?.stop();
});

it('10 channels of 1,000 messages of 1 KB each, resubscribed with since at once: all arrive, the connection stays', async () => {
  const channels = Array.from({ length: 10 }, (_, i) => `backlog-${i}`);
  const ids = new Map<string, string[]>();
  for (const channel of channels) {
    const items = Array.from({ length: 1000 }, (_, n) => ({ channel, data: { n, pad: 'x'.repeat(1000) } }));
    const response = await stack.publish({ items });
    expect(response.status).toBe(200);
    ids.set(channel, ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id));
  }
  const ws = recordWs(stack.urls.pushpinProxy);
  await ws.opened;
  for (const channel of channels) ws.send({ type: 'subscribe', channel, since: '0' });
  const total = channels.length * 1000;
  await ws.waitFor(total, (f) => f.type === 'message', 120_000);
  for (const channel of channels) {
    const received = ws.frames.filter((f) => f.type === 'message' && f.channel === channel).map((f) => f.id);
    expect(received).toEqual(ids.get(channel));
  }
  expect(ws.frames.filter((f) => f.type === 'subscribed')).toHaveLength(channels.length);
  expect(ws.socket.readyState).toBe(ws.socket.OPEN);
  ws.close();
}, 180_000);
