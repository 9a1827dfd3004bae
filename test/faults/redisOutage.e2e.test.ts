// Fault: Redis (the history) down and back while messages are published through the origin, under
// held clients of every transport. While it is down every publish is answered 503 history_unavailable
// with Retry-After and nothing stored; when it is back publishing works again.
// - A Redis that persists every write (appendonly yes, appendfsync always), here killed with SIGKILL:
//   the history survives, so every client has every acknowledged message, once, and no reset.
// - A Redis that keeps nothing (a plain restart): a new epoch starts, ids go on above the old ones,
//   and a client that had not yet got a message from before is told (reset "restarted"), never
//   silently: what it misses is exactly what the restart took with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMisses, formatTally, tallyDeliveries, waitForDeliveries } from '../../scripts/fleet/deliveryTally.ts';
import type { Fleet } from '../../scripts/fleet/fleet.ts';
import { expectEveryoneGotEverything, publishNow, startClients, startPublisher, type PublisherRun } from './faultRun.ts';
import { startFaultStack, type FaultStack } from './faultStack.ts';

/** Publishes through the outage; resolves with the publisher's record and the expected ids. */
async function publishThroughOutage(stack: FaultStack, fleet: Fleet, channel: string, crash: boolean): Promise<{ run: PublisherRun; acked: Set<number> }> {
  const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 5));
  await waitForDeliveries(fleet.members, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
  const run = startPublisher({ channel, targets: () => [stack.origin().url], publish: stack.publish, intervalMs: 100 });
  await new Promise((r) => setTimeout(r, 500));
  await stack.stopRedis(crash);
  await new Promise((r) => setTimeout(r, 3000));
  await stack.startRedis();
  // Until a publish after the restart is stored again.
  const storedBefore = run.acked.size;
  for (let n = 0; n < 100 && run.acked.size === storedBefore; n++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  await run.stop();
  expect(run.acked.size, 'publishing works again').toBeGreaterThan(storedBefore);
  for (const id of run.acked) acked.add(id);
  for (const id of await publishNow(stack.publish, stack.origin().url, channel, 5)) acked.add(id);
  // Clear refusals while it was down: 503, Retry-After, nothing stored.
  expect(run.failures.length, 'publishes refused during the outage').toBeGreaterThan(0);
  for (const failure of run.failures) {
    expect(failure).toMatchObject({ status: 503, retryAfter: '1', body: { error: 'history_unavailable', stored: [] } });
  }
  return { run, acked };
}

describe('a Redis that persists every write, killed and started again', () => {
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack({ durableRedis: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('100 clients of each transport get every acknowledged message once, with no reset', async () => {
    const channel = 'fault-redis-durable';
    const fleet = await startClients(stack.proxyUrl, channel, 100);
    try {
      const { acked } = await publishThroughOutage(stack, fleet, channel, true);
      const tallies = await expectEveryoneGotEverything('Redis (appendfsync always) killed and restarted (100 per transport)', fleet, channel, acked, stack.origin().url);
      for (const t of tallies) expect(t.resets, t.transport).toBe(0);
    } finally {
      fleet.close();
    }
  }, 120_000);
});

describe('a Redis that keeps nothing, restarted', () => {
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a new epoch: nothing twice, and whoever misses a message from before the restart was told', async () => {
    const channel = 'fault-redis-volatile';
    const fleet = await startClients(stack.proxyUrl, channel, 50);
    try {
      const { acked } = await publishThroughOutage(stack, fleet, channel, false);
      const expected = new Map([[channel, acked]]);
      // Every message published after the restart must reach everyone: wait for those (generously: a
      // loaded machine slows the long-pollers), then 500 ms for anything late. No more for the rest: a
      // client told its position could not be continued never gets what came before the restart, and
      // one that has the last id and gets an earlier one after it counts it out of order (it used to
      // wait 3 s here for messages that could only fail the test).
      const epochStart = Math.max(...[...acked]) - 20;
      await waitForDeliveries(fleet.members, new Map([[channel, new Set([...acked].filter((id) => id >= epochStart))]]), { timeoutMs: 60_000 });
      const tallies = tallyDeliveries(fleet.members, expected);
      console.log(formatTally('Redis (no persistence) restarted (50 per transport)', tallies));
      if (tallies.some((t) => t.duplicated > 0 || t.outOfOrder > 0 || t.unexpected > 0)) console.log(describeMisses(fleet.members, expected));
      for (const t of tallies) {
        expect({ transport: t.transport, duplicated: t.duplicated, outOfOrder: t.outOfOrder, unexpected: t.unexpected }).toEqual({ transport: t.transport, duplicated: 0, outOfOrder: 0, unexpected: 0 });
      }
      // A miss is only from before the restart, and only for a client that was told its position could
      // not be continued.
      for (const member of fleet.members) {
        const missed = [...acked].filter((id) => !member.ids.has(id));
        if (missed.length === 0) continue;
        expect(member.stats.resets, `${member.transport} client missed ${missed.length} without a reset: ${member.history.join(' | ')}`).toBeGreaterThan(0);
        for (const id of missed) expect(id).toBeLessThan(epochStart);
      }
    } finally {
      fleet.close();
    }
  }, 120_000);
});
