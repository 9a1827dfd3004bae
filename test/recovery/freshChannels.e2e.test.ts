// Hundreds of fresh channels subscribed within a few seconds, then one message published on each at
// once: every subscriber of every transport gets its channel's message, once, and no stream waits
// for a next-link update. Pushpin 1.36 updates every linked hold of a channel 1 s after the
// channel's first subscription, through one limiter of 10 next-link fetches a second for the whole
// handler, and holds a stream's messages until its fetch returns. When the origin held SSE and NDJSON
// streams with prev-id and a next link, 300 fresh channels made 600 such fetches (a minute of
// queue), and the last message here arrived 29 s after the publish, found by the client's 30 s
// silence check. Stream holds now carry no link (routes/streamHold.ts): Pushpin has nothing to fetch.
// That is what the test asserts, from Pushpin's own log (it logs every next-link request it makes),
// rather than a delivery time, which a slow machine could miss for other reasons.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../../client/index.ts';
import { describeMisses, everyoneHasEverything, formatTally, tallyDeliveries, tallyFailed, type ExpectedIds } from '../../scripts/fleet/deliveryTally.ts';
import { createFleet, type Fleet, type MemberSpec } from '../../scripts/fleet/fleet.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const CHANNELS = 300;
/** Per channel: one of each streaming kind and a WebSocket (long-polls would only add to the zurl queue). */
const TRANSPORTS: readonly TransportName[] = ['sse', 'websocket', 'stream'];

let stack: TestStack;
let fleet: Fleet | undefined;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(async () => {
  fleet?.close();
  await stack?.stop();
});

/**
 * The handler's log lines since `offset` for requests of a stream's next link on one of the run's
 * channels (`[handler] GET http://.../events/<channel>/after/0 route=origin code=200 ...`; zurl logs
 * each one too).
 */
function nextLinkFetches(offset: number, prefix: string): string[] {
  const text = readFileSync(stack.logFiles.pushpin).subarray(offset).toString('utf8');
  const link = new RegExp(`\\[handler\\] GET \\S+/(events|stream)/${prefix}\\d+/after/`);
  return text.split('\n').filter((line) => link.test(line));
}

describe(`${CHANNELS} fresh channels x ${TRANSPORTS.length} subscribers, then one message on each`, () => {
  it('delivers every message to every subscriber once, and Pushpin fetches no stream next link', { timeout: 150_000 }, async () => {
    const prefix = `fresh-${Math.random().toString(36).slice(2, 8)}-`;
    const channels = Array.from({ length: CHANNELS }, (_, i) => `${prefix}${i}`);
    const logOffset = statSync(stack.logFiles.pushpin).size;
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
    // Anything handed on twice shows up meanwhile; so would the next-link fetches of the first
    // subscriptions' update (1 s after each channel's first subscription) had there been any.
    await new Promise((r) => setTimeout(r, 2000));
    const tallies = tallyDeliveries(fleet.members, expected);
    const fetches = nextLinkFetches(logOffset, prefix);
    console.log(
      `${formatTally(`${CHANNELS} channels x ${TRANSPORTS.length}`, tallies, 'fresh-channels')} | ` +
        `subscribed in ${subscribeSeconds.toFixed(1)} s, the last message arrived ${lastSeconds.toFixed(1)} s after the publish, ` +
        `${fetches.length} stream next-link fetches in Pushpin's log`,
    );
    const failed = tallies.filter(tallyFailed);
    expect(failed, describeMisses(fleet.members, expected)).toEqual([]);
    expect(tallies.reduce((n, t) => n + t.delivered, 0)).toBe(CHANNELS * TRANSPORTS.length);
    expect(fetches.slice(0, 5), `${fetches.length} next-link fetches`).toEqual([]);
  });
});
