// The browser bundle (GET /client.js, client/dist/client.min.js) in headless Chromium, through the
// edge as a page would use it: the browser's own WebSocket and EventSource, the page's origin as the
// URL, no headers. Each transport delivers every message once and in order across a cut; 'auto'
// takes the WebSocket; a private channel works with a token function.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';
import { CLIENT_BUNDLE_CACHE_CONTROL } from '../../origin/routes/staticRoutes.ts';
import { useEdgeStackAndBrowser } from '../harness/browserOnEdge.ts';

const running = useEdgeStackAndBrowser();

async function publish(channel: string, data: unknown): Promise<string> {
  const response = await running.stack.publish({ channel, data });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

interface PageRecord {
  ids: string[];
  transport: string;
  states: string[];
}

/**
 * A page of the edge with the client loaded from /client.js and subscribed; the test drives it by
 * name. `tokenChannel`: the page fetches tokens for it from `tokenUrl` (a function token).
 */
async function openSubscriber(transport: string, channel: string, since: string | undefined, tokens?: string[]): Promise<Page> {
  // The demo page's CSP allows scripts from 'self' only; the test's own evaluate calls need it off.
  const context = await running.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${running.stack.urls.edge}/`);
  // As a page loads it: <script type="module">import { createClient } from '/client.js'</script>.
  await page.addScriptTag({ type: 'module', content: "import { createClient } from '/client.js'; globalThis.createClient = createClient;" });
  await page.waitForFunction(() => 'createClient' in globalThis);
  await page.evaluate(
    async ({ transport, channel, since, tokens }) => {
      const { createClient } = globalThis as unknown as typeof import('../../client/index.ts');
      const client = createClient({ transport: transport as 'auto', idleTimeoutMs: 3000, backoff: { baseMs: 50, maxMs: 300 } });
      const given = [...(tokens ?? [])];
      const sub = client.subscribe(channel, { ...(since ? { since } : {}), ...(tokens ? { token: () => given.shift() ?? tokens.at(-1)! } : {}) });
      const record = { ids: [] as string[], transport: '', states: [] as string[] };
      sub.on('message', (m) => m.id !== undefined && record.ids.push(m.id));
      sub.on('state', (s) => record.states.push(`${s.state}/${s.transport}`));
      (globalThis as Record<string, unknown>).subscriber = { sub, record };
      await sub.ready;
      record.transport = sub.transport!;
    },
    { transport, channel, since, tokens },
  );
  expect(errors).toEqual([]);
  return page;
}

const recordOf = (page: Page): Promise<PageRecord> =>
  page.evaluate(() => ((globalThis as Record<string, unknown>).subscriber as { record: PageRecord }).record);

async function waitForIds(page: Page, count: number): Promise<string[]> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const { ids } = await recordOf(page);
    if (ids.length >= count) return ids;
  }
  throw new Error(`the page got ${(await recordOf(page)).ids.length} of ${count} messages`);
}

describe('the browser bundle at /client.js', () => {
  it('is served through the edge as cacheable JavaScript', async () => {
    const response = await fetch(`${running.stack.urls.edge}/client.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(response.headers.get('cache-control')).toBe(CLIENT_BUNDLE_CACHE_CONTROL);
    expect(await response.text()).toContain('createClient');
  });

  for (const transport of ['websocket', 'sse', 'stream', 'poll'] as const) {
    it(`${transport}: every message once and in order, across a cut, in Chromium`, async () => {
      const channel = `browser-${transport}`;
      const since = await publish(channel, 'before');
      const page = await openSubscriber(transport, channel, since);
      try {
        expect((await recordOf(page)).transport).toBe(transport);
        const ids = [await publish(channel, 1), await publish(channel, 2)];
        await waitForIds(page, 2);
        await page.evaluate(() => ((globalThis as Record<string, unknown>).subscriber as { sub: { testing: { cut(): void } } }).sub.testing.cut());
        ids.push(await publish(channel, 3), await publish(channel, 4));
        expect(await waitForIds(page, 4)).toEqual(ids);
      } finally {
        await page.context().close();
      }
    });
  }

  it("'auto' takes the WebSocket, and a private channel works with a token function", async () => {
    const channel = 'private-browser';
    const tokens = [await signSubscribeToken({ channels: [channel], ttlSeconds: 120 }, DEV_SUBSCRIBE_TOKEN_SECRET)];
    const page = await openSubscriber('auto', channel, undefined, tokens);
    try {
      expect((await recordOf(page)).transport).toBe('websocket');
      const id = await publish(channel, 'secret');
      expect(await waitForIds(page, 1)).toEqual([id]);
    } finally {
      await page.context().close();
    }
  });
});
