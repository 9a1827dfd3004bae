// How the fanout-forward client uses connections, against the real stack: 'auto' falls back when
// WebSockets (then streams) cannot connect and upgrades again later, positions carried across; many
// channels share one WebSocket, the overflow going to another when the origin says too many; a
// publish over the WebSocket resolves with its id or rejects with the origin's error; close() ends all.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, PublishError, type ClientOptions, type FanoutClient } from '../../client/index.ts';
import { recordSubscription, type SubscriptionRecord } from '../harness/clientRecorder.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { startUpgradeRefusingProxy, type UpgradeRefusingProxy } from '../harness/upgradeRefusingProxy.ts';

let stack: TestStack;
let proxy: UpgradeRefusingProxy;
const clients: FanoutClient[] = [];

beforeAll(async () => {
  stack = await startTestStack({ originEnv: { WS_MAX_SUBSCRIPTIONS: '3', ALLOW_CLIENT_PUBLISH: 'true', LONG_POLL_TIMEOUT_SECONDS: '5' } });
  proxy = await startUpgradeRefusingProxy(stack.urls.pushpinProxy);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await proxy?.stop();
  await stack?.stop();
});

function client(options: ClientOptions): FanoutClient {
  const c = createClient({ url: stack.urls.pushpinProxy, headers: { 'pushpin-route': 'origin' }, WebSocket, idleTimeoutMs: 3000, backoff: { baseMs: 50, maxMs: 300 }, ...options });
  clients.push(c);
  return c;
}

async function publish(channel: string, data: unknown): Promise<string> {
  const response = await stack.publish({ channel, data });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

/** Publishes every 100 ms until stopped; resolves with the ids. */
function publishing(channel: string): { stop(): Promise<string[]> } {
  const ids: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      ids.push(await publish(channel, n));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return ids;
    },
  };
}

const transportsSeen = (rec: SubscriptionRecord): string[] => [...new Set(rec.states.filter((s) => s.state === 'open').map((s) => s.transport))];

describe("transport 'auto'", () => {
  it('falls back to SSE while WebSockets cannot connect, upgrades once they can, and loses nothing on the way', async () => {
    proxy.refuseUpgrades = true;
    proxy.blockedPaths = [];
    const c = client({ url: proxy.url, transport: 'auto', firstUpgradeAfterMs: 2000, upgradeAfterMs: 2000 });
    const rec = recordSubscription(c.subscribe('auto-sse', { since: await publish('auto-sse', 'before') }));
    const flow = publishing('auto-sse');
    await rec.sub.ready;
    expect(rec.sub.transport).toBe('sse');
    expect(rec.recoveries.some((r) => r.reason === 'fallback')).toBe(true);
    expect(proxy.refused).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 500));
    proxy.refuseUpgrades = false;
    await rec.waitForState((s) => s.state === 'open' && s.transport === 'websocket', 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const ids = await flow.stop();
    await rec.waitForIds(ids.length);
    expect(rec.ids()).toEqual(ids);
    expect(transportsSeen(rec)).toEqual(['sse', 'websocket']);
    expect(c.transport).toBe('websocket');
    expect(rec.recoveries.some((r) => r.reason === 'upgrade')).toBe(true);
  }, 30_000);

  it('falls back to long-poll when streams cannot connect either, and climbs back one step at a time', async () => {
    proxy.refuseUpgrades = true;
    proxy.blockedPaths = ['/events/'];
    const c = client({ url: proxy.url, transport: 'auto', firstUpgradeAfterMs: 1500, upgradeAfterMs: 1500 });
    const rec = recordSubscription(c.subscribe('auto-poll', { since: await publish('auto-poll', 'before') }));
    const flow = publishing('auto-poll');
    await rec.sub.ready;
    expect(rec.sub.transport).toBe('poll');
    proxy.blockedPaths = [];
    await rec.waitForState((s) => s.state === 'open' && s.transport === 'sse', 10_000);
    proxy.refuseUpgrades = false;
    await rec.waitForState((s) => s.state === 'open' && s.transport === 'websocket', 15_000);
    const ids = await flow.stop();
    await rec.waitForIds(ids.length);
    expect(rec.ids()).toEqual(ids);
    expect(transportsSeen(rec)).toEqual(['poll', 'sse', 'websocket']);
  }, 40_000);
});

describe('one WebSocket for many channels', () => {
  it('carries the channels on one connection, and the overflow on another when the origin allows no more (WS_MAX_SUBSCRIPTIONS=3)', async () => {
    const c = client({ transport: 'websocket' });
    const channels = ['many-1', 'many-2', 'many-3', 'many-4', 'many-5'];
    const recs = channels.map((channel) => recordSubscription(c.subscribe(channel)));
    await Promise.all(recs.map((rec) => rec.sub.ready));
    const connections = c.testing.connections();
    expect(connections.map((conn) => conn.channels.length).sort()).toEqual([2, 3]);
    expect(connections.every((conn) => conn.transport === 'websocket' && conn.open)).toBe(true);
    expect(recs.filter((rec) => rec.recoveries.some((r) => r.reason === 'overflow'))).toHaveLength(2);
    const ids = await Promise.all(channels.map((channel) => publish(channel, channel)));
    for (const [i, rec] of recs.entries()) expect(await rec.waitForIds(1)).toEqual([ids[i]]);
  });
});

describe('publishing over the WebSocket', () => {
  it('resolves with the id the origin assigned; the origin’s refusals reject with its code', async () => {
    const c = client({ transport: 'websocket' });
    const rec = recordSubscription(c.subscribe('pub'));
    await rec.sub.ready;
    const id = await c.publish('pub', { hello: 'world' });
    expect(await rec.waitForIds(1)).toEqual([id]);
    expect(rec.messages[0]).toMatchObject({ id, channel: 'pub', data: { hello: 'world' } });
    await expect(c.publish('private-pub', 1)).rejects.toMatchObject({ name: 'PublishError', code: 'forbidden', channel: 'private-pub' });
    await expect(c.publish('pub', 'x'.repeat(70_000))).rejects.toBeInstanceOf(PublishError);
    // The subscription went on through all of it.
    const next = await c.publish('pub', 2);
    expect(await rec.waitForIds(2)).toEqual([id, next]);
  });
});

it('close() ends every subscription and connection; nothing can be used after', async () => {
  const c = client({ transport: 'websocket' });
  const live = c.subscribe('closing');
  await live.ready;
  const pending = c.subscribe('closing-2');
  c.close();
  await expect(pending.ready).rejects.toMatchObject({ code: 'closed' });
  expect(live.state).toBe('closed');
  expect(c.testing.connections()).toEqual([]);
  await expect(c.publish('closing', 1)).rejects.toMatchObject({ code: 'closed' });
  expect(() => c.subscribe('closing')).toThrow(/after close/);
});
