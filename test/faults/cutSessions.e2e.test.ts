// Fault: sessions cut by the proxy under load. Pushpin's processes are paused in turn (SIGSTOP for
// two seconds: condure, the handler, the proxy) while bursts of 20 messages are published every 50 ms
// to every transport: Pushpin cuts some sessions (as it cancelled sessions "out of sequence" under
// 5,000 SSE subscribers) and long-polls fail; the clients come back with their position and recover.
// (Clients that stop reading during a burst larger than their buffers are a known gap with Pushpin
// 1.36: `npm run bench -- slowConsumers` reproduces it; see docs/reliability.md.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForDeliveries } from '../../scripts/fleet/deliveryTally.ts';
import { expectEveryoneGotEverything, publishNow, startClients, startPublisher } from './faultRun.ts';
import { startFaultStack, type FaultStack } from './faultStack.ts';

const PER_TRANSPORT = 200;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
});
afterAll(async () => {
  await stack?.stop();
});

it(`sessions cut by the proxy under load (${PER_TRANSPORT} clients of each transport): clients recover`, async () => {
  const channel = 'fault-cut-sessions';
  const fleet = await startClients(stack.proxyUrl, channel, PER_TRANSPORT);
  try {
    const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 5));
    await waitForDeliveries(fleet.members, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
    const publisher = startPublisher({ channel, targets: () => [stack.origin().url], publish: stack.publish, intervalMs: 50, batch: 20 });
    await new Promise((r) => setTimeout(r, 500));
    for (const service of ['condure', 'pushpin-handler', 'pushpin-proxy']) {
      const pid = await stack.pushpinServicePid(service);
      process.kill(pid, 'SIGSTOP');
      try {
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        // Gone if Pushpin crashed meanwhile (the stack starts it again).
        try {
          process.kill(pid, 'SIGCONT');
        } catch {}
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 1000));
    await publisher.stop();
    for (const id of publisher.acked) acked.add(id);
    for (const id of await publishNow(stack.publish, stack.origin().url, channel, 5)) acked.add(id);
    expect(publisher.failures).toEqual([]);
    const tallies = await expectEveryoneGotEverything(`sessions cut under load (${PER_TRANSPORT} per transport)`, fleet, channel, acked, stack.origin().url);
    const log = readFileSync(join(stack.logDir, 'pushpin.log'), 'utf8');
    const cancelled = log.split('\n').filter((l) => /out of sequence|cancel/i.test(l)).length;
    console.log(`[fault] Pushpin log lines about cancelled/out-of-sequence sessions: ${cancelled}; Pushpin crashes ${stack.pushpinCrashes().length}; reconnects ${tallies.map((t) => `${t.transport} ${t.reconnects}`).join(', ')}`);
  } finally {
    fleet.close();
  }
}, 150_000);

