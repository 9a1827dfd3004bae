// The browser bundle (/client.js) under faults, in Chromium, as a user gets it: the page and the bundle
// come through the edge (behind a proxy that can refuse WebSocket upgrades and cut the network), and
// one page runs five clients at once - websocket, sse (the browser's EventSource), stream (NDJSON over
// fetch), poll and auto - each subscribed to one private channel with a token function that hands out
// 4-second tokens (so streams reconnect and WebSockets refresh in place every few seconds all along).
// A publisher publishes through the origin every 100 ms throughout. Faults, one after another: the
// origin restarted (history in Redis, so nothing starts over), Pushpin restarted, the network cut
// (Playwright's offline mode plus the proxy dropping every connection, which offline mode leaves
// open for WebSockets), the token service down until every token expired, and WebSockets blocked (auto
// falls back to SSE, then climbs back). After each, every subscription catches up; at the end each has
// every message the history holds after its start, once and in order, and never a reset or an error.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';
import { launchBrowser } from '../harness/browser.ts';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { startUpgradeRefusingProxy, type UpgradeRefusingProxy } from '../harness/upgradeRefusingProxy.ts';

const TRANSPORTS = ['websocket', 'sse', 'stream', 'poll', 'auto'] as const;
type PageTransport = (typeof TRANSPORTS)[number];
const CHANNEL = 'private-browser-faults';
const TOKEN_TTL_SECONDS = 4;

let redis: RunningRedis;
let stack: TestStack;
let proxy: UpgradeRefusingProxy;
let browser: Browser;

beforeAll(async () => {
  redis = await startRedisServer();
  stack = await startTestStack({ edge: true, originEnv: { REDIS_URL: redis.url, LONG_POLL_TIMEOUT_SECONDS: '5', HISTORY_MAX_MESSAGES: '100000' } });
  proxy = await startUpgradeRefusingProxy(stack.urls.edge!);
  proxy.refuseUpgrades = false;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await stack?.stop();
  await redis?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const after = (a: string | undefined, b: string): boolean => a !== undefined && BigInt(a) >= BigInt(b);

/** Publishes on CHANNEL through the origin every 100 ms, one request at a time, remembering the ids it was answered with. */
function startPublisher(): { acked: string[]; failures: Map<string, number>; stop(): Promise<void> } {
  const acked: string[] = [];
  const failures = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      try {
        const response = await stack.publish({ channel: CHANNEL, data: { n } });
        if (response.ok) acked.push(((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id);
        else failures.set(String(response.status), (failures.get(String(response.status)) ?? 0) + 1);
      } catch {
        failures.set('refused', (failures.get('refused') ?? 0) + 1); // the origin is restarting
      }
      await sleep(100);
    }
  })();
  return {
    acked,
    failures,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Every id the history holds after `since` (paged), read with a subscribe token. */
async function historyAfter(since: string): Promise<string[]> {
  const token = await signSubscribeToken({ channels: [CHANNEL], ttlSeconds: 60 }, DEV_SUBSCRIBE_TOKEN_SECRET);
  const ids: string[] = [];
  for (let from: string | undefined = since; from !== undefined; ) {
    const response = await fetch(`${stack.urls.origin}/api/channels/${CHANNEL}/messages?since=${from}&limit=1000`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { messages: Array<{ id: string }>; next?: string; reset?: unknown };
    expect(page.reset).toBeUndefined();
    ids.push(...page.messages.map((m) => m.id));
    from = page.next;
  }
  return ids;
}

interface SubscriberView {
  count: number;
  last: string | undefined;
  state: string;
  transport: string | undefined;
  stats: { messages: number; duplicates: number; resets: number; reconnects: number; connectFailures: number; recoveries: Record<string, number> };
  states: string[];
  errors: string[];
  resets: number;
}

interface TokenService {
  issued: number;
  down: boolean;
}

/**
 * The page of the edge (through the proxy) with /client.js loaded as a page loads it, and one client
 * per transport subscribed from `since`, tokens from `issueSubscribeToken` (the test signs them).
 */
async function openPage(since: string, tokens: TokenService): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  // The demo page's CSP allows scripts from 'self' only; the test's own script tag needs it off.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.exposeFunction('issueSubscribeToken', async () => {
    if (tokens.down) throw new Error('the token service is down');
    tokens.issued++;
    return signSubscribeToken({ channels: [CHANNEL], ttlSeconds: TOKEN_TTL_SECONDS }, DEV_SUBSCRIBE_TOKEN_SECRET);
  });
  await page.goto(`${proxy.url}/`);
  await page.addScriptTag({ type: 'module', content: "import { createClient } from '/client.js'; globalThis.createClient = createClient;" });
  await page.waitForFunction(() => 'createClient' in globalThis);
  await page.evaluate(
    async ({ transports, channel, since }) => {
      const g = globalThis as unknown as typeof import('../../client/index.ts') & { issueSubscribeToken(): Promise<string>; subscribers: unknown };
      const subscribers: Record<string, unknown> = {};
      for (const transport of transports) {
        // Reconnects within a second, a dead connection noticed within 3 s, 'auto' tries the WebSocket again 3 s after a fall.
        const client = g.createClient({ transport, idleTimeoutMs: 3000, backoff: { baseMs: 100, maxMs: 1000 }, firstUpgradeAfterMs: 3000, upgradeAfterMs: 3000 });
        const sub = client.subscribe(channel, { since, token: () => g.issueSubscribeToken() });
        const record = { ids: [] as string[], states: [] as string[], errors: [] as string[], resets: 0 };
        sub.on('message', (m) => m.id !== undefined && record.ids.push(m.id));
        sub.on('state', (s) => record.states.push(`${s.state}/${s.transport}`));
        sub.on('reset', () => record.resets++);
        sub.on('error', (e) => record.errors.push(`${e.code}: ${e.message}`));
        subscribers[transport] = { client, sub, record };
      }
      g.subscribers = subscribers;
      await Promise.all(Object.values(subscribers).map((s) => (s as { sub: { ready: Promise<void> } }).sub.ready));
    },
    { transports: TRANSPORTS, channel: CHANNEL, since },
  );
  return { context, page, errors };
}

type PageSubscribers = Record<string, { sub: import('../../client/index.ts').Subscription; record: { ids: string[]; states: string[]; errors: string[]; resets: number } }>;

const view = (page: Page): Promise<Record<PageTransport, SubscriberView>> =>
  page.evaluate(() => {
    const subscribers = (globalThis as unknown as { subscribers: PageSubscribers }).subscribers;
    return Object.fromEntries(
      Object.entries(subscribers).map(([name, { sub, record }]) => [
        name,
        { count: record.ids.length, last: record.ids.at(-1), state: sub.state, transport: sub.transport, stats: JSON.parse(JSON.stringify(sub.stats)), states: record.states, errors: record.errors, resets: record.resets },
      ]),
    ) as Record<PageTransport, SubscriberView>;
  });

/** Until `auto` is open on `transport`; resolves with how long that took. */
async function autoOpenOn(page: Page, transport: string, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { auto } = await view(page);
    if (auto.state === 'open' && auto.transport === transport) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`'auto' not open on ${transport} within ${timeoutMs} ms: ${auto.state}/${auto.transport}`);
    await sleep(100);
  }
}

const idsOf = (page: Page): Promise<Record<PageTransport, string[]>> =>
  page.evaluate(() => {
    const subscribers = (globalThis as unknown as { subscribers: PageSubscribers }).subscribers;
    return Object.fromEntries(Object.entries(subscribers).map(([name, { record }]) => [name, record.ids])) as Record<PageTransport, string[]>;
  });

/** Until every subscription of `transports` has `target`; resolves with how long each took (ms from now). */
async function catchUp(page: Page, target: string, transports: readonly PageTransport[] = TRANSPORTS, timeoutMs = 20_000): Promise<Partial<Record<PageTransport, number>>> {
  const started = Date.now();
  const took: Partial<Record<PageTransport, number>> = {};
  for (;;) {
    const subs = await view(page);
    for (const t of transports) if (took[t] === undefined && after(subs[t].last, target)) took[t] = Date.now() - started;
    if (transports.every((t) => took[t] !== undefined)) return took;
    if (Date.now() - started > timeoutMs) {
      const behind = transports.filter((t) => took[t] === undefined).map((t) => `${t} at ${subs[t].last} (${subs[t].state}/${subs[t].transport}, ${JSON.stringify(subs[t].stats.recoveries)}, errors ${JSON.stringify(subs[t].errors)})`);
      throw new Error(`not caught up with ${target} within ${timeoutMs} ms: ${behind.join('; ')}`);
    }
    await sleep(100);
  }
}

/** A message published after now has been acknowledged: its id. */
async function nextAcked(acked: string[], timeoutMs = 20_000): Promise<string> {
  const count = acked.length;
  for (const deadline = Date.now() + timeoutMs; acked.length <= count; await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`no publish acknowledged within ${timeoutMs} ms`);
  }
  return acked.at(-1)!;
}

/** Why the subscription connected again between two views, by reason (those that happened). */
function recoveriesBetween(before: SubscriberView, now: SubscriberView): Record<string, number> {
  const changed = Object.entries(now.stats.recoveries).map(([reason, n]) => [reason, n - (before.stats.recoveries[reason] ?? 0)] as const);
  return Object.fromEntries(changed.filter(([, n]) => n > 0));
}
/** Recoveries caused by a fault, not by the token refreshes that go on all along. */
const faultRecoveries = (r: Record<string, number>): number => Object.entries(r).reduce((sum, [reason, n]) => (reason === 'token-refresh' ? sum : sum + n), 0);

it('every message once and in order on every transport, through an origin restart, a Pushpin restart, a network cut, expired tokens and blocked WebSockets', async () => {
  const runStarted = Date.now();
  const since = ((await (await stack.publish({ channel: CHANNEL, data: 'before' })).json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
  const tokens: TokenService = { issued: 0, down: false };
  const { context, page, errors } = await openPage(since, tokens);
  const publisher = startPublisher();
  const lines: string[] = [];
  try {
    expect((await view(page)).auto.transport).toBe('websocket');
    await catchUp(page, await nextAcked(publisher.acked));

    /**
     * Runs `fault`, then waits until every subscription of `transports` has a message published after
     * it returned; returns each subscription's recoveries meanwhile, by reason.
     */
    const phase = async (
      name: string,
      fault: () => Promise<void>,
      transports: readonly PageTransport[] = TRANSPORTS,
    ): Promise<Record<PageTransport, Record<string, number>>> => {
      await sleep(500);
      const before = await view(page);
      const started = Date.now();
      await fault();
      const faultMs = Date.now() - started;
      const target = await nextAcked(publisher.acked);
      const took = await catchUp(page, target, transports);
      const now = await view(page);
      lines.push(
        `[browser-fault] +${((started - runStarted) / 1000).toFixed(1)} s ${name}: fault ${faultMs} ms; then caught up: ${transports.map((t) => `${t} ${took[t]} ms`).join(', ')}; ` +
          `recoveries ${TRANSPORTS.map((t) => `${t} ${JSON.stringify(recoveriesBetween(before[t], now[t]))}`).join(', ')}`,
      );
      return Object.fromEntries(TRANSPORTS.map((t) => [t, recoveriesBetween(before[t], now[t])])) as Record<PageTransport, Record<string, number>>;
    };

    // First, while 'auto' is on the WebSocket (the outages below make it fall back too, for a while).
    // Meanwhile 'websocket' cannot connect: only the others catch up.
    const refusedBefore = proxy.refused;
    let fellBackMs = 0;
    await phase(
      'WebSockets blocked (a network change to one that refuses upgrades)',
      async () => {
        proxy.refuseUpgrades = true;
        proxy.setOffline(true); // the old network's connections end
        proxy.setOffline(false);
        fellBackMs = await autoOpenOn(page, 'sse');
      },
      TRANSPORTS.filter((t) => t !== 'websocket'),
    );
    expect(proxy.refused - refusedBefore).toBeGreaterThanOrEqual(2);
    expect((await view(page)).websocket.state).toBe('reconnecting');
    const unblocked = Date.now();
    proxy.refuseUpgrades = false;
    // 'websocket' connects again and catches up; 'auto' climbs back to the WebSocket.
    const websocketBack = await catchUp(page, await nextAcked(publisher.acked));
    await autoOpenOn(page, 'websocket');
    lines.push(
      `[browser-fault] 'auto' open on SSE ${fellBackMs} ms after WebSockets were blocked; once allowed again, 'websocket' caught up in ` +
        `${websocketBack.websocket} ms and 'auto' was back on the WebSocket after ${Date.now() - unblocked} ms`,
    );

    await phase('origin restarted (Redis history)', async () => {
      await stack.restart('origin');
    });

    const pushpinBefore = stack.pids.pushpin;
    const pushpin = await phase('Pushpin restarted', async () => {
      await stack.restart('pushpin');
    });
    expect(stack.pids.pushpin).not.toBe(pushpinBefore);
    // Every connection went through Pushpin: each subscription connected again.
    for (const t of TRANSPORTS) expect(faultRecoveries(pushpin[t]), t).toBeGreaterThan(0);

    const cut = await phase('network cut for 3 s', async () => {
      await context.setOffline(true);
      proxy.setOffline(true);
      await sleep(3000);
      proxy.setOffline(false);
      await context.setOffline(false);
    });
    for (const t of TRANSPORTS) expect(faultRecoveries(cut[t]), t).toBeGreaterThan(0);

    // Longer than a token lives, plus the up to ~1 s the origin takes to end a stream after `exp`, so
    // that no refresh can come first.
    const expiry = await phase(`token service down for ${TOKEN_TTL_SECONDS + 2} s (every token expires)`, async () => {
      tokens.down = true;
      await sleep((TOKEN_TTL_SECONDS + 2) * 1000);
      tokens.down = false;
    });
    // The origin ended each subscription at its token's exp; the client got a fresh token and resumed.
    for (const t of TRANSPORTS) expect(expiry[t]['token-refused'], t).toBeGreaterThan(0);

    await publisher.stop();
    const expected = await historyAfter(since);
    await catchUp(page, expected.at(-1)!);
    const got = await idsOf(page);
    const final = await view(page);
    for (const t of TRANSPORTS) {
      expect(got[t], `${t}: every message once, in order`).toEqual(expected);
      expect(final[t].errors, t).toEqual([]);
      expect(final[t].resets, t).toBe(0);
    }
    // Every message the publisher was answered for is among them.
    expect(publisher.acked.filter((id) => !expected.includes(id))).toEqual([]);
    expect(errors).toEqual([]);
    lines.push(
      `[browser-fault] ${expected.length} messages (${publisher.acked.length} acknowledged, publish failures ${JSON.stringify(Object.fromEntries(publisher.failures))}) ` +
        `to each of ${TRANSPORTS.join(', ')}: 0 lost, 0 twice, 0 out of order; ${tokens.issued} tokens issued; ${Date.now() - runStarted} ms`,
    );
    for (const t of TRANSPORTS) lines.push(`[browser-fault]   ${t}: ${JSON.stringify(final[t].stats)}`);
  } finally {
    console.log(lines.join('\n'));
    await publisher.stop();
    await context.close();
  }
}, 150_000);
