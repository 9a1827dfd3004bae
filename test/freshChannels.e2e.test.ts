// Hundreds of fresh channels subscribed within a few seconds, then one message published on each at
// once: every subscriber of every transport must get its channel's message, once. Pushpin 1.36
// updates every stream hold of a channel 1 s after the channel's first subscription, through one
// limiter of 10 next-link fetches a second for the whole handler, and holds a stream's messages until
// its fetch returns (see scripts/bench/chat/ and the README's chat benchmark): with the origin's
// linked stream holds (prev-id and next link) the last message here waits for that queue; with the
// unlinked prototype (STREAM_HOLDS=unlinked) there is nothing to update. Nothing may be lost either
// way; how long the last one took is printed (a figure, not a pass mark).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../client/index.ts';
import { describeMisses, everyoneHasEverything, formatTally, tallyDeliveries, tallyFailed, type ExpectedIds } from '../scripts/fleet/deliveryTally.ts';
import { createFleet, type Fleet, type MemberSpec } from '../scripts/fleet/fleet.ts';
import { startTestStack, type TestStack } from './harness/testStack.ts';

const CHANNELS = 300;
/** Per channel: one of each streaming kind and a WebSocket (long-polls would only add to the zurl queue). */
const TRANSPORTS: readonly TransportName[] = ['sse', 'websocket', 'stream'];

describe.each(['linked', 'unlinked'] as const)('%s stream holds: 300 fresh channels x 3 subscribers, then one message on each', (holds) => {
  let stack: TestStack;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    stack = await startTestStack({ originEnv: { STREAM_HOLDS: holds } });
  }, 60_000);
  afterAll(async () => {
    fleet?.close();
    await stack?.stop();
  });

  it('delivers every message to every subscriber once', { timeout: 150_000 }, async () => {
    const run = Math.random().toString(36).slice(2, 8);
    const channels = Array.from({ length: CHANNELS }, (_, i) => `fresh-${run}-${i}`);
    fleet = createFleet({ url: stack.urls.pushpinProxy, headers: { 'pushpin-route': 'origin' } });
    const specs: MemberSpec[] = channels.flatMap((channel) => TRANSPORTS.map((transport) => ({ transport, channel, since: '0' })));
    // As fast as Pushpin 1.36 takes new requests without answering 502 (every one goes through zurl).
    const subscribeStarted = Date.now();
    await fleet.addRamped(specs, { batch: 30, pauseMs: 100 });
    await fleet.untilLive(60_000);
    const subscribeSeconds = (Date.now() - subscribeStarted) / 1000;

    const response = await stack.publish({ items: channels.map((channel) => ({ channel, data: { hello: channel } })) });
    expect(response.status).toBe(200);
    const published = Date.now();
    const { messages } = (await response.json()) as { messages: Array<{ id: string; channel: string }> };
    expect(messages).toHaveLength(CHANNELS);
    const expected: ExpectedIds = new Map(messages.map((m) => [m.channel, new Set([Number(m.id)])]));

    const deadline = published + 120_000;
    while (!everyoneHasEverything(fleet.members, expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const lastSeconds = (Date.now() - published) / 1000;
    await new Promise((r) => setTimeout(r, 500)); // anything handed on twice shows up too
    const tallies = tallyDeliveries(fleet.members, expected);
    console.log(
      `${formatTally(`${holds} holds, ${CHANNELS} channels x ${TRANSPORTS.length}`, tallies, 'fresh-channels')} | ` +
        `subscribed in ${subscribeSeconds.toFixed(1)} s, the last message arrived ${lastSeconds.toFixed(1)} s after the publish`,
    );
    const failed = tallies.filter(tallyFailed);
    expect(failed, describeMisses(fleet.members, expected)).toEqual([]);
    expect(tallies.reduce((n, t) => n + t.delivered, 0)).toBe(CHANNELS * TRANSPORTS.length);
  });
});
