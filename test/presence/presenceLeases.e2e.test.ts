// Streams and long-polls in occupancy and presence, through the edge: the client library takes a
// presence lease over HTTP for each subscription on SSE, NDJSON or long-poll, renews it while
// subscribed (past several lease lifetimes), moves it with a fallback, gives it up when it stops, and
// a client process killed without a word leaves within a lease. Leases of 6 s here. The cases run side
// by side: each on a channel of its own, on a stack none of them changes.
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createClient, type FanoutClient, type TransportName } from '../../client/index.ts';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { SWEEP_INTERVAL_MS } from '../../origin/presence/presenceTracker.ts';
import { presenceLeasePath } from '../../protocol/index.ts';
import { startManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { memberIds, readPresence, untilPresence } from '../harness/presenceReader.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const SECRET = 'e2e-presence-leases-secret-0123456789abcdef';
const LEASE_SECONDS = 6;
let stack: TestStack;
let edge: string;
const clients: FanoutClient[] = [];

const token = (channel: string, sub?: string) => signSubscribeToken({ channels: [channel], ttlSeconds: 600, ...(sub ? { sub } : {}) }, SECRET);
const presence = (channel: string) => readPresence(edge, channel, stack.publishToken);
function client(transport: TransportName): FanoutClient {
  const c = createClient({ url: edge, WebSocket, transport });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  stack = await startTestStack({
    edge: true,
    originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, PRESENCE_KEEP_ALIVE_SECONDS: '20', PRESENCE_LEASE_SECONDS: String(LEASE_SECONDS), LONG_POLL_TIMEOUT_SECONDS: '5' },
  });
  edge = stack.urls.edge!;
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await stack?.stop();
});

describe.concurrent('HTTP subscriptions in occupancy', () => {
  it('counts each transport, keeps counting past several leases, and stops counting at unsubscribe', async ({ expect }) => {
    const channel = 'lease-room';
    const subs = (['websocket', 'sse', 'stream', 'poll'] as const).map((t) => client(t).subscribe(channel));
    await Promise.all(subs.map((s) => s.ready));
    const all = await untilPresence(() => presence(channel), (s) => s.occupancy.connections === 4, { timeoutMs: 15_000, what: 'four connections' });
    expect(all.snapshot.occupancy).toEqual({ connections: 4, members: 0, byTransport: { websocket: 1, sse: 1, stream: 1, poll: 1 } });
    // Three lease lifetimes later, still counted: renewed while subscribed.
    await new Promise((r) => setTimeout(r, 3 * LEASE_SECONDS * 1000));
    expect((await presence(channel)).occupancy.connections).toBe(4);
    for (const sub of subs.slice(1)) sub.unsubscribe();
    const left = await untilPresence(() => presence(channel), (s) => s.occupancy.connections === 1, { timeoutMs: 10_000, what: 'the leases to go' });
    expect(left.snapshot.occupancy.byTransport).toEqual({ websocket: 1, sse: 0, stream: 0, poll: 0 });
    // Given up at once (a DELETE), not lapsed.
    expect(left.afterMs).toBeLessThan(LEASE_SECONDS * 1000);
  }, 60_000);

  it('enters a member over SSE with `presence: true`, once for two of its subscriptions on different transports', async ({ expect }) => {
    const channel = 'private-lease-members';
    const t = await token(channel, 'sam');
    const viaSse = client('sse').subscribe(channel, { token: t, presence: true });
    const viaPoll = client('poll').subscribe(channel, { token: t, presence: true });
    await Promise.all([viaSse.ready, viaPoll.ready]);
    const both = await untilPresence(() => presence(channel), (s) => s.occupancy.connections === 2, { timeoutMs: 15_000, what: 'sam twice' });
    expect(both.snapshot.members).toEqual([{ clientId: 'sam', connections: 2 }]);
    viaSse.unsubscribe();
    viaPoll.unsubscribe();
    await untilPresence(() => presence(channel), (s) => s.occupancy.members === 0, { timeoutMs: 10_000, what: 'sam to leave' });
  });

  it('lets a stream client killed without a word leave within a lease', async ({ expect }) => {
    const channel = 'private-lease-killed';
    const child = await startManagedProcess({
      name: 'presence-stream-member',
      command: process.execPath,
      args: ['--import', 'tsx', join(PROJECT_ROOT, 'test/fixtures/presenceStreamMember.ts'), edge, channel, await token(channel, 'kit'), 'sse'],
      cwd: PROJECT_ROOT,
      ready: /subscribed|error/,
    });
    expect(child.recentOutput()).toContain('subscribed');
    await untilPresence(() => presence(channel), (s) => memberIds(s).includes('kit'), { timeoutMs: 10_000, what: 'kit to enter' });
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    const left = await untilPresence(() => presence(channel), (s) => s.occupancy.connections === 0, { timeoutMs: 60_000, what: 'kit to leave' });
    console.log(`killed stream client: left ${left.afterMs} ms after SIGKILL (lease ${LEASE_SECONDS} s + sweep ${SWEEP_INTERVAL_MS} ms)`);
    expect(left.afterMs).toBeLessThan(LEASE_SECONDS * 1000 + SWEEP_INTERVAL_MS + 10_000);
  }, 90_000);
});

describe.concurrent('the lease API', () => {
  it('refuses what it must', async ({ expect }) => {
    const put = (channel: string, id: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${edge}${presenceLeasePath(channel, id)}`, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const id = 'abcdefghijklmnop0001';
    expect((await put('private-x', id, { transport: 'sse' })).status).toBe(403);
    expect(await (await put('news', id, { transport: 'sse', presence: true })).json()).toMatchObject({ error: 'presence_refused' });
    expect((await put('news', 'short', { transport: 'sse' })).status).toBe(400);
    expect((await put('news', id, { transport: 'websocket' })).status).toBe(400);
    const ok = await put('news', id, { transport: 'stream' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ channel: 'news', leaseId: id, expiresInMs: LEASE_SECONDS * 1000, renewInMs: (LEASE_SECONDS * 1000) / 3 });
    expect((await presence('news')).occupancy.byTransport.stream).toBe(1);
    expect((await fetch(`${edge}${presenceLeasePath('news', id)}`, { method: 'DELETE' })).status).toBe(204);
    expect((await presence('news')).occupancy.connections).toBe(0);
  });
});
