// Fault: the origin restarted (SIGTERM, then a new process on its port) under 250 held clients of each
// transport, Redis history, with messages published before, during (through a second origin on the
// same Redis) and after the restart, and one publish caught in flight by the stop. Pushpin keeps
// holding every client; long-polls answered while the origin is down poll again (Pushpin answers 502
// meanwhile) and catch up from their `since`.
// (test/recovery/restarts.e2e.test.ts covers the same with one client per transport, and the memory history.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForDeliveries } from '../../scripts/fleet/deliveryTally.ts';
import { expectEveryoneGotEverything, publishNow, startClients, startPublisher } from './faultRun.ts';
import { startFaultStack, type FaultStack } from './faultStack.ts';

const PER_TRANSPORT = 250;

async function historyHolds(originUrl: string, channel: string, data: string): Promise<boolean> {
  const body = (await (await fetch(`${originUrl}/api/channels/${channel}/messages?since=0&limit=1000`)).json()) as { messages: Array<{ data: unknown }> };
  return body.messages.some((m) => m.data === data);
}
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ spareOrigin: true });
});
afterAll(async () => {
  await stack?.stop();
});

it(`origin restarted under ${PER_TRANSPORT} held clients of each transport (Redis history)`, async () => {
  const channel = 'fault-origin-restart';
  const fleet = await startClients(stack.proxyUrl, channel, PER_TRANSPORT);
  try {
    // Every hold sequenced first (the first message of a channel makes Pushpin fetch every hold's
    // next link), so that the restart is the only fault.
    const acked = new Set(await publishNow(stack.publish, stack.origin().url, channel, 5));
    await waitForDeliveries(fleet.members, new Map([[channel, acked]]), { timeoutMs: 60_000, settleMs: 0 });
    // Through the routed origin while it is up, through the spare one while it is not.
    const publisherOptions = {
      channel,
      targets: () => [stack.origin().url, stack.spareOrigin()!.url],
      publish: stack.publish,
      intervalMs: 100,
    };
    const before = startPublisher(publisherOptions);
    await new Promise((r) => setTimeout(r, 1000));
    await before.stop();

    // A publish the origin has stored but not yet handed to Pushpin when it is told to stop: Pushpin's
    // handler is paused for a moment, so the publish is surely still on its way.
    const handler = await stack.pushpinServicePid('pushpin-handler');
    const marker = `in flight at the stop ${Date.now()}`;
    let during: ReturnType<typeof startPublisher> | undefined;
    let inFlightAnswer: number | string = 'none';
    process.kill(handler, 'SIGSTOP');
    try {
      const inFlight = stack.publish(stack.origin().url, { channel, data: marker }).then(
        (r) => r.status,
        () => 'cut',
      );
      for (let n = 0; n < 300 && !(await historyHolds(stack.spareOrigin()!.url, channel, marker)); n++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await stack.stopOrigin(async () => {
        await new Promise((r) => setTimeout(r, 300));
        process.kill(handler, 'SIGCONT');
        during = startPublisher(publisherOptions);
      });
      inFlightAnswer = await inFlight;
    } finally {
      process.kill(handler, 'SIGCONT');
    }
    await stack.startOrigin();
    await new Promise((r) => setTimeout(r, 1500));
    await during!.stop();
    const publisher = { acked: new Set([...before.acked, ...during!.acked]), answers: during!.answers, failures: [...before.failures, ...during!.failures] };
    for (const id of publisher.acked) acked.add(id);
    for (const id of await publishNow(stack.publish, stack.origin().url, channel, 5)) acked.add(id);
    expect(publisher.answers.get('refused') ?? 0, 'some publishes found the origin down').toBeGreaterThan(0);
    expect(publisher.failures).toEqual([]);
    const tallies = await expectEveryoneGotEverything(`origin restarted (${PER_TRANSPORT} per transport, Redis)`, fleet, channel, acked, stack.origin().url);
    // The stopping origin finished the publish it had in hand, and answered it.
    expect(inFlightAnswer).toBe(200);
    // Long-polls answered while the origin was down had to poll again.
    expect(tallies.find((t) => t.transport === 'poll')!.reconnects).toBeGreaterThan(0);
  } finally {
    fleet.close();
  }
}, 240_000);
