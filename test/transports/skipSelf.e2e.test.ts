// Skip-self end to end, through the edge, Pushpin and the origin: a WebSocket client's publish with
// skipSelf reaches every other subscriber (WebSocket and SSE) but not the connection that sent it; the
// client library's subscription on that connection moves its position past its own messages without
// taking the next one for a gap.
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, type FanoutClient, type Message } from '../../client/index.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { isProbe, recordWs, untilLive, type WsRecorder } from '../harness/wsClient.ts';

let stack: TestStack;
let edge: string;
const closers: Array<() => void> = [];

beforeAll(async () => {
  stack = await startTestStack({ edge: true, originEnv: { ALLOW_CLIENT_PUBLISH: 'true' } });
  edge = stack.urls.edge!;
}, 120_000);

afterAll(async () => {
  for (const close of closers) close();
  await stack?.stop();
});

async function subscriber(channel: string): Promise<WsRecorder> {
  const ws = recordWs(edge);
  closers.push(() => ws.socket.terminate());
  await ws.opened;
  ws.send({ type: 'subscribe', channel });
  await ws.waitFor(1, (f) => f.type === 'subscribed');
  await untilLive(ws, channel, stack.publish);
  return ws;
}

/** The message data of an SSE event (its data is the envelope). */
const sseData = (e: { data: unknown }) => (e.data as { data?: unknown }).data;
const dataOf = (frames: Array<{ type: string; data?: unknown }>) => frames.filter((f) => f.type === 'message' && !isProbe(f as never)).map((f) => f.data);

it('keeps a skipSelf publish from the connection that sent it, and from nobody else', async () => {
  const channel = 'skip-self-raw';
  const [sender, other] = [await subscriber(channel), await subscriber(channel)];
  const sse = recordSse(`${edge}/events/${channel}`);
  closers.push(() => sse.close());
  await sse.opened;
  for (let n = 0; !sse.events.some((e) => isProbe({ type: 'message', data: sseData(e) })); n++) {
    if (n > 50) throw new Error('SSE never became live');
    await stack.publish({ channel, data: { probe: `sse-${n}` } });
    await new Promise((r) => setTimeout(r, 200));
  }
  sender.send({ type: 'publish', channel, data: 'not for me', skipSelf: true });
  const [own] = await sender.waitFor(1, (f) => f.type === 'published');
  sender.send({ type: 'publish', channel, data: 'for everyone' });
  await sender.waitFor(1, (f) => f.type === 'message' && f.data === 'for everyone');
  await other.waitFor(1, (f) => f.type === 'message' && f.data === 'for everyone');
  // In order on each connection: the sender's first message would have come before the second.
  expect(dataOf(sender.frames)).toEqual(['for everyone']);
  expect(dataOf(other.frames)).toEqual(['not for me', 'for everyone']);
  const second = (await sender.waitFor(2, (f) => f.type === 'published'))[1]!;
  expect(second.prev).toBeUndefined();
  // The answer names where the skipped message stands: the other subscriber got it at that id.
  expect(other.frames.find((f) => f.data === 'not for me')).toMatchObject({ id: own!.id, prev: own!.prev });
  await expect
    .poll(() => sse.events.map(sseData).filter((d) => typeof d === 'string'), { timeout: 10_000 })
    .toEqual(['not for me', 'for everyone']);
});

it('lets the client publish with skipSelf: its subscription passes its own messages, with no gap, and gets everyone else\'s', async () => {
  const channel = 'skip-self-client';
  const client: FanoutClient = createClient({ url: edge, WebSocket, transport: 'websocket' });
  closers.push(() => client.close());
  const sub = client.subscribe(channel);
  const received: Message[] = [];
  sub.on('message', (m) => received.push(m));
  await sub.ready;
  const other = await subscriber(channel);
  // Live: a probe arrives.
  for (let n = 0; !received.some((m) => isProbe({ type: 'message', data: m.data })); n++) {
    if (n > 50) throw new Error('the client never became live');
    await stack.publish({ channel, data: { probe: n } });
    await new Promise((r) => setTimeout(r, 200));
  }
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(await client.publish(channel, `mine ${i}`, { skipSelf: true }));
    const response = await stack.publish({ channel, data: `theirs ${i}` });
    ids.push(((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id);
  }
  await expect.poll(() => received.filter((m) => typeof m.data === 'string').length, { timeout: 10_000 }).toBe(5);
  await other.waitFor(10, (f) => f.type === 'message' && typeof f.data === 'string');
  expect(received.filter((m) => typeof m.data === 'string').map((m) => m.data)).toEqual([0, 1, 2, 3, 4].map((i) => `theirs ${i}`));
  expect(dataOf(other.frames)).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`mine ${i}`, `theirs ${i}`]));
  expect(sub.stats.recoveries).toEqual({});
  expect(sub.position).toBe(ids.at(-1));
});
