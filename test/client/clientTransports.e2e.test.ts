// The fanout-forward client in Node, on each transport, against the real stack (Pushpin 1.36 and the
// origin): every message once and in order across a cut, resuming from `since`, a reset reported, and
// the recoveries for what Pushpin really does to a subscriber - drop a WebSocket message (the gap
// rule), stop sending a WebSocket its messages (the pong check), leave a stream or a long-poll silent
// (the history check). Pushpin is made to do those by a filter on its publish port that keeps chosen
// GRIP items from it while the origin stores the message (test/harness/publishFilter.ts).
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type FanoutClient, type TransportName } from '../../client/index.ts';
import { liveItemsForMessage } from '../../origin/publishing/gripItems.ts';
import { freeStackPorts } from '../../scripts/shared/ports.ts';
import { recordSubscription } from '../harness/clientRecorder.ts';
import { startPublishFilter, type PublishFilter } from '../harness/publishFilter.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
let filter: PublishFilter;
const clients: FanoutClient[] = [];

beforeAll(async () => {
  const ports = await freeStackPorts();
  filter = await startPublishFilter(`http://127.0.0.1:${ports.pushpinPublish}`);
  // LOG_LEVEL debug: the origin logs when a WebSocket subscribe goes live (see untilSubscribeLive).
  stack = await startTestStack({ ports, originEnv: { GRIP_URL: filter.gripUrl, LONG_POLL_TIMEOUT_SECONDS: '5', HISTORY_MAX_MESSAGES: '100000', LOG_LEVEL: 'debug' } });
});
afterEach(() => {
  filter.drop = undefined;
  filter.rewrite = undefined;
});
afterAll(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
  await filter?.stop();
});

/** Straight to Pushpin (as a harness does), idle checks in seconds instead of tens of seconds. */
function client(transport: TransportName, options: ClientOptions = {}): FanoutClient {
  const c = createClient({
    url: stack.urls.pushpinProxy,
    headers: { 'pushpin-route': 'origin' },
    WebSocket,
    transport,
    idleTimeoutMs: 3000,
    backoff: { baseMs: 50, maxMs: 500 },
    ...options,
  });
  clients.push(c);
  return c;
}

async function publish(channel: string, ...data: unknown[]): Promise<string[]> {
  const response = await stack.publish({ items: data.map((d) => ({ channel, data: d })) });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

/**
 * Keeps the next GRIP item of `channel` for `transport` from Pushpin (the message is stored all the
 * same). For a WebSocket the later items lose their `prev-id`, which would make Pushpin's sequencer
 * hold them up to 5 s for the missing one: when Pushpin itself drops a message for a connection (its
 * buffer full), the sequencer has passed it, and the next one goes out at once.
 */
function dropNext(transport: TransportName, channel: string): void {
  // The origin's item for each transport (long-polls share SSE's history channel: one item carries both formats).
  const gripChannel = transport === 'websocket' ? `ws:${channel}` : `history:${transport === 'poll' ? 'sse' : transport}:${channel}`;
  let dropped: string | undefined;
  // The same message every time (the origin repeats a publish request that failed).
  filter.drop = (item) => {
    if (item.channel !== gripChannel) return false;
    dropped ??= item.id;
    if (transport === 'websocket') filter.rewrite = ({ 'prev-id': prev, ...rest }) => (rest.channel === gripChannel ? rest : { ...rest, 'prev-id': prev });
    return item.id === dropped;
  };
}

/**
 * A WebSocket subscribe catches up from the history until a barrier round finds nothing new; a message
 * appended before that reaches the client in the catch-up, whatever Pushpin does with its live item.
 * The origin logs the moment the subscription goes live.
 */
async function untilSubscribeLive(channel: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const live = readFileSync(stack.logFiles.origin, 'utf8')
      .split('\n')
      .some((line) => line.includes('websocket subscribe live') && line.includes(`"channel":"${channel}"`));
    if (live) return;
  }
  throw new Error(`the origin never logged the subscribe to ${channel} live`);
}

/** Pushpin re-fetches every hold of a channel about a second after its first subscription (SUBSCRIBED_DELAY): that would recover a dropped item itself. */
const pastSubscribedDelay = (): Promise<void> => new Promise((r) => setTimeout(r, 1500));

const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'stream', 'poll'];

describe.each(TRANSPORTS)('%s', (transport) => {
  it('delivers every message once, in order, across a cut connection, resuming from its position', async () => {
    const channel = `cut-${transport}`;
    const rec = recordSubscription(client(transport).subscribe(channel));
    await rec.sub.ready;
    expect(rec.sub.state).toBe('open');
    expect(rec.sub.transport).toBe(transport);
    const before = await publish(channel, 1, 2, 3);
    await rec.waitForIds(3);
    rec.sub.testing.cut();
    const during = await publish(channel, 4, 5);
    await rec.waitForRecovery('cut');
    const after = await publish(channel, 6);
    await rec.waitForIds(6);
    expect(rec.ids()).toEqual([...before, ...during, ...after]);
    expect(rec.sub.position).toBe(after[0]);
    expect(rec.sub.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('starts from `since`: everything retained after it, then live ones', async () => {
    const channel = `since-${transport}`;
    const [first, ...rest] = await publish(channel, 'a', 'b', 'c');
    const rec = recordSubscription(client(transport).subscribe(channel, { since: first }));
    await rec.sub.ready;
    const later = await publish(channel, 'd');
    await rec.waitForIds(3);
    expect(rec.ids()).toEqual([...rest, ...later]);
    expect(rec.messages.map((m) => m.data)).toEqual(['b', 'c', 'd']);
  });

  it('reports lost continuity: a position ahead of the channel gets a reset, then continues from its `after`', async () => {
    const channel = `reset-${transport}`;
    const [last] = await publish(channel, 'x');
    const ahead = String(BigInt(last!) + 1000n);
    const rec = recordSubscription(client(transport).subscribe(channel, { since: ahead }));
    const [retained] = await rec.waitForIds(1);
    expect(retained).toBe(last);
    expect(rec.resets).toEqual([expect.objectContaining({ channel, reason: 'ahead', since: ahead })]);
    const [next] = await publish(channel, 'y');
    await rec.waitForIds(2);
    expect(rec.ids()).toEqual([last, next]);
  });

  it('delivers a message published straight to the proxy (no id) without moving its position', async () => {
    const channel = `live-${transport}`;
    const rec = recordSubscription(client(transport).subscribe(channel));
    await rec.sub.ready;
    // Long-poll: a channel's first subscriber makes Pushpin retry its holds a second later (SUBSCRIBED_DELAY):
    // a live-only message sent meanwhile is not the poller's. Stored ones are never lost that way.
    if (transport === 'poll') await new Promise((r) => setTimeout(r, 1500));
    const position = rec.sub.position;
    for (let attempt = 0; attempt < 20 && !rec.messages.some((m) => m.id === undefined); attempt++) {
      // A WebSocket subscription is applied by Pushpin a moment after `subscribed`: send until one arrives.
      const sent = await fetch(`${stack.urls.pushpinPublish}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items: liveItemsForMessage({ channel, data: 'live', ts: Date.now() }) }),
      });
      expect(sent.status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(rec.messages.find((m) => m.id === undefined)).toMatchObject({ channel, data: 'live' });
    expect(rec.sub.position).toBe(position);
  });
});

describe('WebSocket recoveries', () => {
  it('gap rule: a message Pushpin dropped makes the next one name a prev that is not ours; the client subscribes again and gets it', async () => {
    const channel = 'gap-ws';
    const rec = recordSubscription(client('websocket').subscribe(channel));
    await rec.sub.ready;
    const [m1] = await publish(channel, 1);
    await rec.waitForIds(1);
    await untilSubscribeLive(channel);
    dropNext('websocket', channel);
    const [m2] = await publish(channel, 2);
    const [m3] = await publish(channel, 3);
    const gap = await rec.waitForRecovery('gap');
    expect(gap).toMatchObject({ position: m1 });
    await rec.waitForIds(3);
    expect(rec.ids()).toEqual([m1, m2, m3]);
  });

  it('pong check: when the last message never came, the silent connection pings, sees the channel ahead and subscribes again', async () => {
    const channel = 'pong-ws';
    const rec = recordSubscription(client('websocket').subscribe(channel));
    await rec.sub.ready;
    const [m1] = await publish(channel, 1);
    await rec.waitForIds(1);
    await untilSubscribeLive(channel);
    dropNext('websocket', channel);
    const [m2] = await publish(channel, 2);
    const behind = await rec.waitForRecovery('pong-behind');
    expect(behind).toMatchObject({ position: m1 });
    await rec.waitForIds(2);
    expect(rec.ids()).toEqual([m1, m2]);
  });

});

describe.each(['sse', 'stream', 'poll'] as const)('%s silence check', (transport) => {
  it('a subscription that Pushpin leaves silent asks the history and reconnects from its position', async () => {
    const channel = `silent-${transport}`;
    const rec = recordSubscription(client(transport).subscribe(channel));
    await rec.sub.ready;
    await pastSubscribedDelay();
    const start = rec.sub.position;
    dropNext(transport, channel);
    const [m1] = await publish(channel, 1);
    const behind = await rec.waitForRecovery('history-behind');
    expect(behind).toMatchObject({ position: start });
    await rec.waitForIds(1);
    const [m2] = await publish(channel, 2);
    await rec.waitForIds(2);
    expect(rec.ids()).toEqual([m1, m2]);
  });
});

it('slow consumers: readers that stop while a burst far larger than their buffers goes by (Pushpin drops or strands them) still get every message once', async () => {
  const channel = 'stalled';
  const recs = TRANSPORTS.map((transport) => recordSubscription(client(transport, { idleTimeoutMs: 6000 }).subscribe(channel)));
  await Promise.all(recs.map((rec) => rec.sub.ready));
  await pastSubscribedDelay();
  const resumes = recs.map((rec) => rec.sub.testing.stall(8000));
  expect(resumes.every((resume) => typeof resume === 'function')).toBe(true);
  // 6 MB: more than the kernel's socket buffers and Pushpin's 256 KiB client buffer together.
  const pad = 'x'.repeat(3000);
  const ids: string[] = [];
  for (let batch = 0; batch < 20; batch++) ids.push(...(await publish(channel, ...Array.from({ length: 100 }, (_, n) => ({ pad, n: batch * 100 + n })))));
  await new Promise((r) => setTimeout(r, 1000));
  for (const resume of resumes) resume!();
  ids.push(...(await publish(channel, 'last')));
  for (const rec of recs) {
    await rec.waitForIds(ids.length, 60_000);
    expect(rec.ids()).toEqual(ids);
    console.log(`stalled ${rec.sub.transport}: ${ids.length} delivered once, in order; recoveries ${JSON.stringify(rec.sub.stats.recoveries)}, duplicates dropped ${rec.sub.stats.duplicates}`);
  }
}, 120_000);
