// The first message of a channel reaches the streams held at the channel's base straight from the
// publish. It used to name no predecessor, so every SSE and NDJSON hold of the channel saw a prev-id
// that did not match its own and fetched its next link at the same moment; under load Pushpin 1.36
// answers such a burst of shared fetches 502 and leaves the fetches that join the failed one
// unanswered for good, so the soak found whole groups of streams kept alive but silent. Real Pushpin:
// the test reads its log for next-link fetches made after the publish.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countSubscribes } from '../harness/everyTransport.ts';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const ROUTE = { 'pushpin-route': 'origin' };
const PER_TRANSPORT = 10;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(() => stack?.stop());

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pushpin's log lines written since `offset` that are next-link fetches of `channel`'s streams. */
function nextLinkFetchesSince(offset: number, channel: string): string[] {
  const text = readFileSync(stack.logFiles.pushpin).subarray(offset).toString('utf8');
  return text.split('\n').filter((line) => line.includes(`/events/${channel}/after/`) || line.includes(`/stream/${channel}/after/`));
}

describe('the first message of a channel', () => {
  it('reaches every SSE and NDJSON stream held at the base without a single next-link fetch', async () => {
    const channel = `first-${Date.now()}`;
    const sse = Array.from({ length: PER_TRANSPORT }, () => recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, ROUTE));
    const ndjson = Array.from({ length: PER_TRANSPORT }, () => recordNdjson(`${stack.urls.pushpinProxy}/stream/${channel}`, ROUTE));
    try {
      await Promise.all([...sse.map((c) => c.opened), ...ndjson.map((c) => c.opened)]);
      await until(
        () =>
          countSubscribes(stack.logFiles.pushpin, `history:sse:${channel}`) >= PER_TRANSPORT &&
          countSubscribes(stack.logFiles.pushpin, `history:stream:${channel}`) >= PER_TRANSPORT,
        20_000,
      );
      // A channel's first subscription makes Pushpin update its holds a second later (SUBSCRIBED_DELAY).
      await new Promise((r) => setTimeout(r, 2500));
      const offset = statSync(stack.logFiles.pushpin).size;

      const response = await stack.publish({ items: [{ channel, data: 'first' }, { channel, data: 'second' }] });
      expect(response.status).toBe(200);
      const ids = ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
      await Promise.all(sse.map((c) => c.waitFor(2, 20_000)));
      const messageIds = (lines: unknown[]): string[] =>
        lines.filter((l): l is { id: string; data: unknown } => typeof l === 'object' && l !== null && 'data' in l).map((l) => l.id);
      await until(() => ndjson.every((c) => messageIds(c.lines).length >= 2), 20_000);
      await new Promise((r) => setTimeout(r, 500)); // anything doubled arrives meanwhile

      for (const c of sse) expect(c.events.map((e) => e.id)).toEqual(ids);
      for (const c of ndjson) expect(messageIds(c.lines)).toEqual(ids);
      expect(nextLinkFetchesSince(offset, channel)).toEqual([]);
    } finally {
      for (const c of [...sse, ...ndjson]) c.close();
    }
  }, 60_000);
});
