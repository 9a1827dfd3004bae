// Private channels with the fanout-forward client, on each transport, against the real stack:
// short-lived tokens from a function are refreshed before `exp` (a WebSocket in place, a stream by
// reconnecting from its position) with nothing lost or doubled; a refused or expired token makes the
// function give another; a fixed token ends the subscription at expiry with an error that says why.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, SubscriptionError, type FanoutClient, type TransportName } from '../../client/index.ts';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';
import { recordSubscription } from '../harness/clientRecorder.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
const clients: FanoutClient[] = [];

beforeAll(async () => {
  // The local origin verifies subscribe tokens with the development secret.
  stack = await startTestStack({ originEnv: { LONG_POLL_TIMEOUT_SECONDS: '5' } });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
});

function client(transport: TransportName): FanoutClient {
  const c = createClient({ url: stack.urls.pushpinProxy, headers: { 'pushpin-route': 'origin' }, WebSocket, transport, idleTimeoutMs: 3000, backoff: { baseMs: 50, maxMs: 500 } });
  clients.push(c);
  return c;
}

const token = (channel: string, ttlSeconds: number, secret = DEV_SUBSCRIBE_TOKEN_SECRET): Promise<string> =>
  signSubscribeToken({ channels: [channel], ttlSeconds }, secret);

async function publish(channel: string, data: unknown): Promise<string> {
  const response = await stack.publish({ channel, data });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'stream', 'poll'];

describe('private channels', () => {
  it.concurrent.each(TRANSPORTS)('%s: a token function keeps the subscription going across 4 s tokens, nothing lost, nothing twice', async (transport) => {
    const channel = `private-refresh-${transport}`;
    let calls = 0;
    const rec = recordSubscription(client(transport).subscribe(channel, { token: () => (calls++, token(channel, 4)) }));
    await rec.sub.ready;
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) {
      ids.push(await publish(channel, i));
      await new Promise((r) => setTimeout(r, 500));
    }
    await rec.waitForIds(ids.length);
    expect(rec.ids()).toEqual(ids);
    expect(calls).toBeGreaterThanOrEqual(3);
    const { recoveries, reconnects } = rec.sub.stats;
    expect(recoveries['token-refused'] ?? 0).toBe(0);
    // A WebSocket takes each fresh token on its connection (`refreshed`); a stream reconnects from its position.
    if (transport === 'websocket') expect(reconnects).toBe(0);
    else expect(recoveries['token-refresh']).toBeGreaterThanOrEqual(2);
    console.log(`${transport}: ${ids.length} messages over ${calls} tokens; ${JSON.stringify(recoveries)}`);
  }, 30_000);

  it.concurrent.each(TRANSPORTS)('%s: a refused or expired token makes the token function give another', async (transport) => {
    const channel = `private-retry-${transport}`;
    const given = [token(channel, 60, 'another-secret-that-is-at-least-32-bytes-long'), token(channel, -10), token(channel, 60)];
    const rec = recordSubscription(client(transport).subscribe(channel, { token: () => given.shift()! }));
    await rec.sub.ready;
    expect(rec.sub.stats.recoveries['token-refused']).toBe(2);
    const id = await publish(channel, 'in');
    await rec.waitForIds(1);
    expect(rec.ids()).toEqual([id]);
  });

  it.concurrent.each(TRANSPORTS)('%s: a fixed token ends the subscription at its expiry, saying how to keep it going', async (transport) => {
    const channel = `private-fixed-${transport}`;
    const rec = recordSubscription(client(transport).subscribe(channel, { token: await token(channel, 3) }));
    await rec.sub.ready;
    const error = await rec.waitForError(15_000);
    expect(error).toBeInstanceOf(SubscriptionError);
    expect(error).toMatchObject({ code: 'token_expired', channel });
    expect(error.message).toContain('give a function');
    expect(rec.sub.state).toBe('closed');
  }, 30_000);

  it.concurrent.each(TRANSPORTS)('%s: without a token, ready rejects with forbidden', async (transport) => {
    const sub = client(transport).subscribe(`private-none-${transport}`);
    await expect(sub.ready).rejects.toMatchObject({ name: 'SubscriptionError', code: 'forbidden' });
    expect(sub.state).toBe('closed');
  });
});
