// The demo page in a real browser, served through the edge: subscribe with the client from /client.js
// on each transport (and 'auto'), publish, see the message; private channels; the client's recoveries
// (a WebSocket frame that does not follow the position, a closed connection) shown on the page.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';
import { itemsForStoredMessage, liveItemsForMessage } from '../../origin/publishing/gripItems.ts';
import { useEdgeStackAndBrowser } from '../harness/browserOnEdge.ts';

const running = useEdgeStackAndBrowser();

type PageTransport = 'auto' | 'websocket' | 'sse' | 'stream' | 'poll';
/** What the status line calls each transport once open. */
const SHOWN_AS = { websocket: 'WebSocket', sse: 'Server-Sent Events', stream: 'NDJSON stream', poll: 'long-poll' } as const;

/** Subscribes the loaded page to `channel` with its form, and waits until it says it is open. */
async function subscribe(page: Page, channel: string, transport: PageTransport): Promise<void> {
  await page.fill('#channel', channel);
  await page.selectOption('#transport', transport);
  await page.click('#connect');
  await page.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
}

describe('demo page', () => {
  it('is served with caching headers the edge can use', async () => {
    const page = await fetch(`${running.stack.urls.edge}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toMatch(/s-maxage=\d+/);
    const asset = await fetch(`${running.stack.urls.edge}/assets/demo.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=\d+/);
    await Promise.all([page.text(), asset.text()]);
  });

  for (const transport of ['auto', 'websocket', 'sse', 'stream', 'poll'] as const) {
    it(`shows a message published from the page (${transport})`, async () => {
      const context = await running.browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      try {
        await page.goto(`${running.stack.urls.edge}/`);
        await expect(page.title()).resolves.toBe('fanout-forward live demo');
        const channel = `demo-${transport}`;
        await subscribe(page, channel, transport);
        // The status line says which transport the client uses ('auto': the WebSocket, which works here).
        expect(await page.textContent('#status')).toBe(`open (${SHOWN_AS[transport === 'auto' ? 'websocket' : transport]}, ${channel})`);
        await page.fill('#token', running.stack.publishToken);
        await page.fill('#text', `hello over ${transport}`);
        await page.click('#publish');
        await page.waitForSelector('#messages li', { timeout: 10_000 });
        expect(await page.textContent('#messages li')).toContain(`hello over ${transport}`);
        // The message can arrive (SSE/WebSocket) before the publish response is shown: wait for both.
        await page.locator('#publish-result').filter({ hasText: /published as #\d{16}/ }).waitFor({ timeout: 10_000 });
        const shownId = (await page.getAttribute('#messages li', 'data-id'))!;
        expect(await page.textContent('#publish-result')).toBe(`published as #${shownId}`);
        await page.screenshot({ path: join(tmpdir(), `demo-page-${transport}.png`) });
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const transport of ['sse', 'websocket'] as const) {
    it(`subscribes to a private channel with a token, says when it expires, and resumes with a fresh one (${transport})`, async () => {
      const context = await running.browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const channel = `private-demo-${transport}`;
      const publish = async (text: string) => {
        const response = await running.stack.publish({ channel, data: { text } });
        expect(response.status).toBe(200);
      };
      try {
        await page.goto(`${running.stack.urls.edge}/`);
        await page.fill('#channel', channel);
        await page.selectOption('#transport', transport);
        // Without a token: refused, and the page says so.
        await page.click('#connect');
        await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
        expect(await page.textContent('#status')).toMatch(/refused|forbidden|private channel/);
        // The local origin verifies with the development secret, as `npm run token` signs.
        await page.fill('#subscribe-token', await signSubscribeToken({ channels: [channel], ttlSeconds: 4 }, DEV_SUBSCRIBE_TOKEN_SECRET));
        await page.click('#connect');
        await page.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
        await new Promise((r) => setTimeout(r, 700));
        await publish('before expiry');
        await page.locator('#messages li', { hasText: 'before expiry' }).waitFor({ timeout: 10_000 });
        await page.locator('#status', { hasText: 'token expired' }).waitFor({ timeout: 10_000 });
        await publish('while expired');
        await page.fill('#subscribe-token', await signSubscribeToken({ channels: [channel], ttlSeconds: 120 }, DEV_SUBSCRIBE_TOKEN_SECRET));
        await page.click('#connect');
        await page.locator('#messages li', { hasText: 'while expired' }).waitFor({ timeout: 10_000 });
        const texts = await page.locator('#messages li').allTextContents();
        expect(texts.filter((t) => t.includes('before expiry'))).toHaveLength(1);
        expect(texts.filter((t) => t.includes('while expired'))).toHaveLength(1);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);
  }

  it('tells the user when the publish token is wrong', async () => {
    const page = await running.browser.newPage();
    try {
      await page.goto(`${running.stack.urls.edge}/`);
      await page.fill('#token', 'wrong-token-value');
      await page.fill('#text', 'nope');
      await page.click('#publish');
      // A locator, not waitForFunction: a string predicate that has to poll is eval'd in the page, which
      // the page's CSP (script-src 'self') refuses, so that version failed whenever the answer was slow.
      await page.locator('#publish-result', { hasText: /^401/ }).waitFor();
    } finally {
      await page.close();
    }
  });

  it('shows a message published straight to the proxy as live only (SSE)', async () => {
    const page = await running.browser.newPage();
    const channel = 'demo-live-only';
    try {
      await page.goto(`${running.stack.urls.edge}/`);
      await subscribe(page, channel, 'sse');
      const items = liveItemsForMessage({ channel, data: 'straight to the proxy', ts: Date.now() });
      const published = await fetch(`${running.stack.urls.pushpinPublish}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      expect(published.status).toBe(200);
      await page.locator('#messages li', { hasText: '(live only)' }).waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
    }
  });

  it('subscribes again from its last id when a WebSocket message does not follow it (a dropped message)', async () => {
    const page = await running.browser.newPage();
    const channel = 'demo-gap';
    try {
      await page.goto(`${running.stack.urls.edge}/`);
      await subscribe(page, channel, 'websocket');
      const first = (await (await running.stack.publish({ channel, data: 'first' })).json()) as { messages: Array<{ id: string }> };
      await page.locator('#messages li', { hasText: '"first"' }).waitFor({ timeout: 10_000 });
      // What a connection gets after the proxy dropped a message: the next one names a predecessor the page
      // never had (sent straight to Pushpin, as the origin frames it; this one is in no history).
      const firstId = BigInt(first.messages[0]!.id);
      const ws = itemsForStoredMessage({ id: String(firstId + 2n), channel, data: 'after a gap', ts: Date.now() }, String(firstId + 1n)).find((i) => i.channel === `ws:${channel}`)!;
      const sent = await fetch(`${running.stack.urls.pushpinPublish}/publish/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ items: [ws] }) });
      expect(sent.status).toBe(200);
      // The client left that connection (its gap rule) and subscribed again; the page says so.
      await page.locator('#recovery', { hasText: /^1 recovery; last: gap \(a message was missed/ }).waitFor({ timeout: 10_000 });
      await page.locator('#status[data-state="open"]').waitFor({ timeout: 10_000 });
      // Back from its last id: the next message arrives once, and the one that did not follow was not shown.
      await expect((await running.stack.publish({ channel, data: 'next' })).status).toBe(200);
      await page.locator('#messages li', { hasText: '"next"' }).waitFor({ timeout: 10_000 });
      const texts = await page.locator('#messages li').allTextContents();
      expect(texts.filter((t) => t.includes('after a gap'))).toEqual([]);
      expect(texts.filter((t) => t.includes('"first"'))).toHaveLength(1);
      expect(texts.filter((t) => t.includes('"next"'))).toHaveLength(1);
    } finally {
      await page.close();
    }
  });

  it('reconnects a WebSocket the server closed and resumes without duplicates', async () => {
    const page = await running.browser.newPage();
    const channel = 'demo-reconnect';
    try {
      await page.goto(`${running.stack.urls.edge}/`);
      await subscribe(page, channel, 'websocket');
      await expect((await running.stack.publish({ channel, data: 'before' })).status).toBe(200);
      await page.locator('#messages li', { hasText: 'before' }).waitFor({ timeout: 10_000 });

      const closed = await fetch(`${running.stack.urls.origin}/api/channels/${channel}/close`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${running.stack.publishToken}` },
      });
      expect(closed.status).toBe(200);
      await page.locator('#recovery', { hasText: /^1 recovery; last: cut \(the connection ended/ }).waitFor({ timeout: 10_000 });
      await page.locator('#status[data-state="open"]').waitFor({ timeout: 10_000 });

      // Published right after the reconnect, and while disconnected: the subscribe from the page's last
      // id gets it (the server closes the subscribe window: no nudging, no client-side repair).
      await expect((await running.stack.publish({ channel, data: 'after' })).status).toBe(200);
      const after = page.locator('#messages li', { hasText: '"after"' });
      await after.waitFor({ timeout: 10_000 });
      const texts = await page.locator('#messages li').allTextContents();
      expect(texts.filter((t) => t.includes('"before"'))).toHaveLength(1);
      expect(texts.filter((t) => t.includes('"after"'))).toHaveLength(1);
    } finally {
      await page.close();
    }
  });

  // Last: it restarts the stack's origin (memory history: a new epoch).
  it('shows a reset when the history cannot continue from its position, then what is retained', async () => {
    const page = await running.browser.newPage();
    const channel = 'demo-reset';
    try {
      await page.goto(`${running.stack.urls.edge}/`);
      await subscribe(page, channel, 'sse');
      await expect((await running.stack.publish({ channel, data: 'old epoch' })).status).toBe(200);
      await page.locator('#messages li', { hasText: '"old epoch"' }).waitFor({ timeout: 10_000 });
      await page.click('#disconnect');
      await running.stack.restart('origin');
      await expect((await running.stack.publish({ channel, data: 'new epoch' })).status).toBe(200);
      // Connecting again resumes from the page's position, which is from before the restart.
      await page.click('#connect');
      await page.locator('#messages li.reset', { hasText: 'history reset (restarted)' }).waitFor({ timeout: 10_000 });
      await page.locator('#messages li', { hasText: '"new epoch"' }).waitFor({ timeout: 10_000 });
      const texts = await page.locator('#messages li').allTextContents();
      const what = (t: string): string => (t.startsWith('history reset') ? 'reset' : t.includes('"old epoch"') ? 'old' : t.includes('"new epoch"') ? 'new' : t);
      expect(texts.map(what)).toEqual(['old', 'reset', 'new']);
    } finally {
      await page.close();
    }
  });
});
