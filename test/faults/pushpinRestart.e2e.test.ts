// Faults of the proxy: Pushpin restarted while messages are published (every client is cut; they come
// back with Last-Event-ID / since / a WebSocket subscribe with since and recover everything; the
// origin's publishes ride out the restart with retries), and Pushpin down for longer than the publish
// deadline (the caller gets 502 publish_failed naming what was stored; clients get it when they are back).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForDeliveries } from '../../scripts/fleet/deliveryTally.ts';
import { DEFAULT_PUBLISH_RETRY_POLICY } from '../../origin/publishing/publishRetryPolicy.ts';
import { expectEveryoneGotEverything, publishNow, startClients, startPublisher } from './faultRun.ts';
import { startFaultStack, type FaultStack } from './faultStack.ts';

const PER_TRANSPORT = 100;
/**
 * Shorter than the client's defaults (30 s silence check, 45 s idle), which the case would otherwise
 * wait out: a stream back after the restart is now and then left silent by Pushpin 1.36 (a stranded
 * next-link fetch, docs/reliability.md: Known gaps), found by the silence check; and a connection made while Pushpin
 * starts can be accepted and never answered (seen: "socket hang up" 20 s later), dropped after the idle
 * time (seen in about one run in three, for a few clients; every other client waits with them). 400
 * clients checking every 5 s are little load; a stream with nothing at all for 10 s (Pushpin's
 * keep-alives come every 20 s) is dropped and comes back from its position.
 */
const CLIENT_TIMEOUTS = { silenceCheckMs: 5_000, idleTimeoutMs: 10_000 };
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
});
afterAll(async () => {
  await stack?.stop();
});

it(`Pushpin restarted under ${PER_TRANSPORT} clients of each transport: they reconnect and recover; publishes are retried`, async () => {
  const channel = 'fault-pushpin-restart';
  const fleet = await startClients(stack.proxyUrl, channel, PER_TRANSPORT, CLIENT_TIMEOUTS);
  try {
    const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 5));
    await waitForDeliveries(fleet.members, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
    const publisher = startPublisher({ channel, targets: () => [stack.origin().url], publish: stack.publish, intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 500));
    await stack.stopPushpin();
    await new Promise((r) => setTimeout(r, 1000));
    await stack.startPushpin();
    await new Promise((r) => setTimeout(r, 1500));
    await publisher.stop();
    for (const id of publisher.acked) acked.add(id);
    for (const id of await publishNow(stack.publish, stack.origin().url, channel, 5)) acked.add(id);
    // Every publish was answered 200: the ones made while Pushpin was down waited for it.
    expect(publisher.failures).toEqual([]);
    expect(publisher.slowestMs, 'a publish waited for Pushpin').toBeGreaterThan(500);
    const tallies = await expectEveryoneGotEverything('Pushpin restarted (100 per transport)', fleet, channel, acked, stack.origin().url);
    // Every client was cut and came back.
    for (const t of tallies) expect(t.reconnects, t.transport).toBeGreaterThanOrEqual(t.clients);
  } finally {
    fleet.close();
  }
}, 120_000);

it('Pushpin down past the publish deadline: 502 publish_failed with the stored messages; clients get them once it is back', async () => {
  const channel = 'fault-publish-target-down';
  const fleet = await startClients(stack.proxyUrl, channel, PER_TRANSPORT, CLIENT_TIMEOUTS);
  try {
    const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 3));
    await waitForDeliveries(fleet.members, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
    await stack.stopPushpin();
    let answer: { status: number; body: { error?: string; message?: string; stored?: Array<{ id: string; channel: string }> }; ms: number };
    try {
      const started = Date.now();
      const response = await stack.publish(stack.origin().url, { items: [{ channel, data: 'a' }, { channel, data: 'b' }] });
      answer = { status: response.status, body: (await response.json()) as typeof answer.body, ms: Date.now() - started };
    } finally {
      await stack.startPushpin();
    }
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'publish_failed', stored: [{ channel }, { channel }] });
    expect(answer.body.message).toMatch(/ECONNREFUSED.*gave up at the publish deadline after \d+ attempts/);
    // Bounded by the deadline (plus a slow machine's slack), and not given up early.
    expect(answer.ms).toBeGreaterThanOrEqual(DEFAULT_PUBLISH_RETRY_POLICY.deadlineMs - DEFAULT_PUBLISH_RETRY_POLICY.minAttemptMs - 100);
    expect(answer.ms).toBeLessThan(DEFAULT_PUBLISH_RETRY_POLICY.deadlineMs + 3000);
    for (const m of answer.body.stored!) acked.add(Number(m.id));
    for (const id of await publishNow(stack.publish, stack.origin().url, channel, 2)) acked.add(id);
    await expectEveryoneGotEverything('publish target down past the deadline (100 per transport)', fleet, channel, acked, stack.origin().url);
  } finally {
    fleet.close();
  }
}, 120_000);
