// Channel events as webhooks, end to end: members join and leave through the edge, and the origin
// POSTs channel_occupied, member_added, member_removed and channel_vacated to a recording receiver,
// batched, signed (checked here with the snippet of docs/presence.md), retried with the same
// X-Webhook-Id after a failure, and never in the way of a publish: with the receiver holding its
// request, publishes are answered as usual.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../harness/webhookReceiver.ts';
import { recordWs, type WsRecorder } from '../harness/wsClient.ts';

const SECRET = 'e2e-webhooks-token-secret-0123456789abcdef';
const WEBHOOK_SECRET = 'e2e-webhook-signing-secret-0123456789abcdef';
let stack: TestStack;
let receiver: WebhookReceiver;
const sockets: WsRecorder[] = [];

type Verifier = (rawBody: string, header: unknown, secret: string) => boolean;
/** The verification snippet of docs/presence.md (the block after <!-- webhook-verify -->), loaded as a module. */
let readmeVerifier: Verifier;
let snippetDir: string | undefined;
async function loadReadmeVerifier(): Promise<Verifier> {
  const readme = readFileSync(join(PROJECT_ROOT, 'docs/presence.md'), 'utf8');
  const code = /<!-- webhook-verify -->\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code || !code.includes('function verifyWebhook(')) throw new Error('docs/presence.md has no <!-- webhook-verify --> snippet defining verifyWebhook');
  snippetDir = mkdtempSync(join(tmpdir(), 'readme-webhook-'));
  const file = join(snippetDir, 'verify.mjs');
  writeFileSync(file, `${code}\nexport { verifyWebhook };\n`);
  return ((await import(pathToFileURL(file).href)) as { verifyWebhook: Verifier }).verifyWebhook;
}
const verified = (hook: ReceivedWebhook): boolean => readmeVerifier(hook.body, hook.headers['x-webhook-signature'], WEBHOOK_SECRET);
const eventsOf = (hook: ReceivedWebhook) => (JSON.parse(hook.body) as { events: Array<Record<string, unknown>> }).events;

async function member(channel: string, sub: string): Promise<WsRecorder> {
  const ws = recordWs(stack.urls.edge!);
  sockets.push(ws);
  await ws.opened;
  ws.send({ type: 'subscribe', channel, token: await signSubscribeToken({ channels: [channel], ttlSeconds: 600, sub, info: { sub } }, SECRET), presence: true });
  await ws.waitFor(1, (f) => f.type === 'subscribed');
  return ws;
}

beforeAll(async () => {
  readmeVerifier = await loadReadmeVerifier();
  receiver = await startWebhookReceiver();
  stack = await startTestStack({
    edge: true,
    originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET, WEBHOOK_BATCH_MS: '300' },
  });
}, 120_000);

afterAll(async () => {
  for (const ws of sockets) ws.socket.terminate();
  await stack?.stop();
  await receiver?.stop();
  if (snippetDir) rmSync(snippetDir, { recursive: true, force: true });
});

it('posts every channel event, signed, batched and in order', async () => {
  const channel = 'private-hooks-1';
  const [a, b] = [await member(channel, 'ann'), await member(channel, 'bob')];
  // One after the other: a's close is answered once the origin released its lease.
  a.close(1000);
  await a.closed;
  b.close(1000);
  const names = () => receiver.received.items.filter(verified).flatMap(eventsOf).filter((e) => e.channel === channel);
  await expect.poll(() => names().length, { timeout: 15_000 }).toBe(6);
  expect(names().map((e) => `${String(e.name)}${e.clientId ? `:${String(e.clientId)}` : ''}`)).toEqual([
    'channel_occupied',
    'member_added:ann',
    'member_added:bob',
    'member_removed:ann',
    'member_removed:bob',
    'channel_vacated',
  ]);
  expect(names()[1]).toMatchObject({ info: { sub: 'ann' }, ts: expect.any(Number) });
  expect(names()[5]).toMatchObject({ reason: 'left' });
  // Batched: fewer requests than events; every one signed and carrying its id and content type.
  const requests = receiver.received.items.filter((h) => eventsOf(h).some((e) => e.channel === channel));
  expect(requests.length).toBeLessThan(6);
  for (const hook of requests) {
    expect(verified(hook)).toBe(true);
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['x-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
  }
  // A tampered body does not verify.
  expect(verified({ ...requests[0]!, body: requests[0]!.body.replace('occupied', 'vacated') })).toBe(false);
});

it('retries a batch the receiver failed, with the same id and a fresh signature', async () => {
  const channel = 'private-hooks-2';
  receiver.answers.push(503, 500);
  const before = receiver.received.items.length;
  const ws = await member(channel, 'cy');
  const attempts = await receiver.received.waitFor(before + 3, { timeoutMs: 20_000 });
  const tries = attempts.slice(before, before + 3);
  expect(new Set(tries.map((h) => h.headers['x-webhook-id'])).size).toBe(1);
  expect(tries.every(verified)).toBe(true);
  expect(tries.every((h) => h.body === tries[0]!.body)).toBe(true);
  expect(eventsOf(tries[0]!).map((e) => e.name)).toEqual(['channel_occupied', 'member_added']);
  ws.close(1000);
}, 30_000);

it('never holds a publish: with the receiver sitting on its request, publishes are answered', async () => {
  const channel = 'private-hooks-3';
  receiver.answers.push('hold');
  const before = receiver.received.items.length;
  const ws = await member(channel, 'dee');
  await receiver.received.waitFor(before + 1, { timeoutMs: 10_000 });
  // The webhook request is open and unanswered; the events behind it wait in the origin's queue.
  ws.close(1000);
  for (let i = 0; i < 20; i++) {
    const response = await stack.publish({ channel, data: i });
    expect(response.status).toBe(200);
  }
  expect(receiver.received.items.length).toBe(before + 1);
  receiver.release();
  await expect
    .poll(() => receiver.received.items.slice(before).flatMap(eventsOf).filter((e) => e.channel === channel).map((e) => e.name), { timeout: 15_000 })
    .toEqual(['channel_occupied', 'member_added', 'member_removed', 'channel_vacated']);
}, 30_000);
