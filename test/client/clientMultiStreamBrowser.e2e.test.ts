// Several channels on one SSE stream in headless Chromium, through the edge: the browser's own
// EventSource reconnecting by itself (its Last-Event-ID is the stream position of the opening block
// until the first live message; after one it is that message's id, which names no channel, and the
// stream refuses it), and the client bundle holding several channels on one EventSource.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useEdgeStackAndBrowser } from '../harness/browserOnEdge.ts';

const running = useEdgeStackAndBrowser({ startTimeoutMs: 120_000 });

async function publish(channel: string, data: unknown): Promise<string> {
  const response = await running.stack.publish({ channel, data });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

async function closeChannel(channel: string): Promise<void> {
  const response = await fetch(`${running.stack.urls.origin}/api/channels/${channel}/close`, { method: 'POST', headers: { Authorization: `Bearer ${running.stack.publishToken}` } });
  expect(response.status).toBeLessThan(300);
}

async function pageOfEdge(): Promise<Page> {
  // The demo page's CSP allows scripts from 'self' only; the test's own evaluate calls need it off.
  const context = await running.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${running.stack.urls.edge}/`);
  return page;
}

interface RawRecord {
  opened: number;
  errors: number;
  readyState: number;
  events: Array<{ lastEventId: string; id: string; channel: string }>;
}

describe("Chromium's EventSource on a stream of several channels", () => {
  it('reconnects by itself from the opening position; after a live message its Last-Event-ID is refused and it gives up', async () => {
    const page = await pageOfEdge();
    await page.evaluate(() => {
      const rec = { opened: 0, errors: 0, readyState: 0, events: [] as Array<{ lastEventId: string; id: string; channel: string }> };
      const source = new EventSource('/events?channel=es-raw-a&channel=es-raw-b');
      source.onopen = () => rec.opened++;
      source.onmessage = (e) => {
        const envelope = JSON.parse(e.data) as { id: string; channel: string };
        rec.events.push({ lastEventId: e.lastEventId, id: envelope.id, channel: envelope.channel });
      };
      source.onerror = () => {
        rec.errors++;
        rec.readyState = source.readyState;
      };
      (globalThis as Record<string, unknown>).raw = rec;
    });
    const record = (): Promise<RawRecord> => page.evaluate(() => (globalThis as Record<string, unknown>).raw as RawRecord);
    await expect.poll(async () => (await record()).opened, { timeout: 10_000 }).toBe(1);
    // Closing a channel ends the stream; EventSource waits its retry time (3 s in Chromium), then
    // reconnects with the id of the opening block: both channels' positions.
    await closeChannel('es-raw-a');
    await expect.poll(async () => (await record()).errors, { timeout: 10_000 }).toBe(1);
    const away = [await publish('es-raw-a', 'away'), await publish('es-raw-b', 'away')];
    await expect.poll(async () => (await record()).events.map((e) => e.id), { timeout: 15_000 }).toEqual(away);
    expect((await record()).opened).toBe(2);
    // A live message: EventSource's Last-Event-ID is its id now (the same event a stream of one channel sends).
    const live = await publish('es-raw-b', 'live');
    await expect.poll(async () => (await record()).events.length, { timeout: 10_000 }).toBe(3);
    expect((await record()).events[2]).toEqual({ lastEventId: live, id: live, channel: 'es-raw-b' });
    await closeChannel('es-raw-b');
    // Its reconnect is refused (400: one message id names no channel), and EventSource stops for good.
    await expect.poll(async () => (await record()).readyState, { timeout: 15_000 }).toBe(2);
    expect((await record()).opened).toBe(2);
    await page.context().close();
  }, 45_000);
});

describe('the client bundle in Chromium', () => {
  it('holds several channels on one EventSource, positions found first, every message once', async () => {
    const page = await pageOfEdge();
    await page.addScriptTag({ type: 'module', content: "import { createClient } from '/client.js'; globalThis.createClient = createClient;" });
    await page.waitForFunction(() => 'createClient' in globalThis);
    const channels = ['es-client-a', 'es-client-b', 'es-client-c'];
    await page.evaluate(async (channels) => {
      const { createClient } = globalThis as unknown as typeof import('../../client/index.ts');
      const urls: string[] = [];
      // The browser's EventSource, counted.
      const Counted = class extends EventSource {
        constructor(url: string) {
          super(url);
          urls.push(url);
        }
      };
      const client = createClient({ transport: 'sse', EventSource: Counted, idleTimeoutMs: 3000, backoff: { baseMs: 50, maxMs: 300 } });
      const ids: Record<string, string[]> = {};
      const subs = channels.map((channel) => {
        ids[channel] = [];
        const sub = client.subscribe(channel);
        sub.on('message', (m) => m.id !== undefined && ids[channel]!.push(m.id));
        return sub;
      });
      (globalThis as Record<string, unknown>).multi = { client, urls, ids };
      await Promise.all(subs.map((s) => s.ready));
    }, channels);
    const state = () => page.evaluate(() => {
      const { urls, ids } = (globalThis as Record<string, unknown>).multi as { urls: string[]; ids: Record<string, string[]> };
      return { urls, ids };
    });
    const published: Record<string, string[]> = Object.fromEntries(channels.map((c) => [c, []]));
    for (let n = 0; n < 5; n++) for (const c of channels) published[c]!.push(await publish(c, n));
    await expect.poll(async () => (await state()).ids, { timeout: 10_000 }).toEqual(published);
    const { urls } = await state();
    expect(urls).toHaveLength(1);
    expect(new URL(urls[0]!).pathname).toBe('/events');
    expect(new URL(urls[0]!).searchParams.getAll('channel').map((c) => c.split(':')[0])).toEqual(channels);
    await page.context().close();
  }, 30_000);
});
