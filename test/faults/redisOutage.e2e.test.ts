// Fault: Redis (the history) stopped and started again while messages are published through the
// origin, under held clients of every transport. While it is down every publish is answered 503
// history_unavailable with Retry-After and nothing stored; nothing the origin stored is left
// unpublished; when Redis is back publishing works again and every client has every message that was
// acknowledged, once. (A restarted Redis starts a new epoch: the ids go on above the old ones.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForDeliveries } from '../../scripts/soak/deliveryTally.ts';
import { closeAll, expectEveryoneGotEverything, publishNow, startClients, startPublisher } from './faultRun.ts';
import { startFaultStack, type FaultStack } from './faultStack.ts';

const PER_TRANSPORT = 100;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
});
afterAll(async () => {
  await stack?.stop();
});

it(`Redis stopped and started while publishing, ${PER_TRANSPORT} clients of each transport`, async () => {
  const channel = 'fault-redis-outage';
  const clients = await startClients(stack.proxyUrl, channel, PER_TRANSPORT);
  try {
    const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 5));
    await waitForDeliveries(clients, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
    const publisher = startPublisher({ channel, targets: () => [stack.origin().url], publish: stack.publish, intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 500));
    await stack.stopRedis();
    await new Promise((r) => setTimeout(r, 3000));
    await stack.startRedis();
    // Until a publish after the restart is stored again.
    const firstAfter = publisher.acked.size;
    for (let n = 0; n < 100 && publisher.acked.size === firstAfter; n++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000));
    await publisher.stop();
    for (const id of publisher.acked) acked.add(id);
    for (const id of await publishNow(stack.publish, stack.origin().url, channel, 5)) acked.add(id);

    // Clear refusals while it was down: 503, Retry-After, nothing stored.
    expect(publisher.failures.length, 'publishes refused during the outage').toBeGreaterThan(0);
    for (const failure of publisher.failures) {
      expect(failure).toMatchObject({ status: 503, retryAfter: '1', body: { error: 'history_unavailable', stored: [] } });
    }
    expect(publisher.acked.size).toBeGreaterThan(firstAfter);
    // The history now holds the new epoch only (a plain redis-server restart keeps nothing here), so
    // the expected ids are what was acknowledged plus what it holds.
    await expectEveryoneGotEverything('Redis stopped and started (100 per transport)', clients, channel, acked, stack.origin().url, {
      historyMustHoldAcked: false,
    });
  } finally {
    closeAll(clients);
  }
}, 120_000);
