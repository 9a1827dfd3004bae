// A WebSocket catch-up whose barrier pong goes missing: a client that answered a ping too late, a
// pong lost on the way, a proxy that held it. The origin cannot reach the connection by itself, so
// while a subscribe is in progress it asks the proxy to call at least every 20 s (Keep-Alive-Interval)
// and sends the barrier again in that answer. Through the real Pushpin: the client ignores the first
// barrier ping, gets it again without sending anything, and after answering it gets every message.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordWs } from '../harness/wsClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

it('a barrier ping left unanswered is sent again within the keep-alive interval; answering it completes the catch-up', async () => {
  const published = await stack.publish({ items: Array.from({ length: 50 }, (_, n) => ({ channel: 'lost-pong', data: { n } })) });
  const ids = ((await published.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
  const ws = recordWs(stack.urls.pushpinProxy, '/ws', { autoPong: false });
  const pings: Array<{ at: number; payload: string }> = [];
  ws.socket.on('ping', (payload: Buffer) => {
    const payloadText = payload.toString();
    pings.push({ at: Date.now(), payload: payloadText });
    // The first barrier ping goes unanswered; every later one is answered at once.
    if (pings.filter((p) => p.payload !== '').length > 1) ws.socket.pong(payload);
  });
  await ws.opened;
  const subscribedAt = Date.now();
  ws.send({ type: 'subscribe', channel: 'lost-pong', since: '0' });
  const messages = await ws.waitFor(50, (f) => f.type === 'message', 40_000);
  expect(messages.map((m) => m.id)).toEqual(ids);
  expect(ws.frames.filter((f) => f.type === 'error')).toEqual([]);
  const barriers = pings.filter((p) => p.payload !== '');
  // The unanswered one came again (the same subscribe, a new barrier) after the resend delay.
  expect(barriers.length).toBeGreaterThanOrEqual(2);
  expect(barriers[1]!.payload).not.toBe(barriers[0]!.payload);
  expect(barriers[1]!.at - subscribedAt).toBeGreaterThanOrEqual(10_000);
  expect(ws.socket.readyState).toBe(ws.socket.OPEN);
  ws.close();
}, 60_000);
