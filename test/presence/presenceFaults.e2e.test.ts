// Presence on Redis with two origins (one behind Pushpin, one beside it on the same Redis), through
// the faults that leave no event behind: both origins show the same members; a member that stays
// connected through an origin restart stays; one whose client died while the origin was down leaves
// within a lease; when the proxy is cut (Pushpin stopped) every member leaves within a lease, and
// each leaving is announced by one origin only. Keep-alive 20 s (Pushpin's minimum): a lease lives
// 30 s, and the sweep claims it within a second. The two cases run side by side, each on a stack of its
// own (one restarts the origin, the other stops Pushpin): both mostly wait for leases to lapse.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { SWEEP_INTERVAL_MS } from '../../origin/presence/presenceTracker.ts';
import { wsLeaseTtlMs } from '../../origin/websocket/wsPresence.ts';
import { startManagedProcess, type ManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { startFaultStack, type FaultStack } from '../faults/faultStack.ts';
import { memberIds, readPresence, untilPresence } from '../harness/presenceReader.ts';
import { TEST_PUBLISH_TOKEN } from '../harness/testStack.ts';
import { recordWs, untilLive, untilOriginSettled, type WsRecorder } from '../harness/wsClient.ts';

const SECRET = 'e2e-presence-faults-secret-0123456789abcdef';
const KEEP_ALIVE_SECONDS = 20;
/** A vanished connection leaves within this (its lease, then the sweep), plus slack for a busy machine. */
const LEAVE_BOUND_MS = wsLeaseTtlMs(KEEP_ALIVE_SECONDS) + SWEEP_INTERVAL_MS;
const SLACK_MS = 15_000;
/** The restart case's stack and the proxy cut's. */
let restartStack: FaultStack;
let cutStack: FaultStack;
const sockets: WsRecorder[] = [];
const children: ManagedProcess[] = [];

const token = (channel: string, sub: string) => signSubscribeToken({ channels: [channel], ttlSeconds: 600, sub }, SECRET);
const routed = (stack: FaultStack, channel: string) => readPresence(stack.origin().url, channel, TEST_PUBLISH_TOKEN);
const spare = (stack: FaultStack, channel: string) => readPresence(stack.spareOrigin()!.url, channel, TEST_PUBLISH_TOKEN);

async function liveMember(stack: FaultStack, channel: string, sub: string): Promise<WsRecorder> {
  const ws = recordWs(stack.proxyUrl);
  sockets.push(ws);
  await ws.opened;
  ws.send({ type: 'subscribe', channel, token: await token(channel, sub), presence: true });
  await ws.waitFor(1, (f) => f.type === 'subscribed' && f.channel === channel);
  await untilLive(ws, channel, (body) => stack.publish(stack.origin().url, body));
  await untilOriginSettled(ws);
  return ws;
}

async function memberProcess(expect: ExpectStatic, stack: FaultStack, channel: string, sub: string): Promise<ManagedProcess> {
  const child = await startManagedProcess({
    name: `member-${sub}`,
    command: process.execPath,
    args: ['--import', 'tsx', join(PROJECT_ROOT, 'test/fixtures/presenceMember.ts'), stack.proxyUrl, channel, await token(channel, sub)],
    cwd: PROJECT_ROOT,
    ready: /subscribed|error/,
  });
  children.push(child);
  expect(child.recentOutput()).toContain('subscribed');
  return child;
}

/** The presence_changes counters of an origin, by "type:reason". */
async function presenceCounters(originUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${originUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_PUBLISH_TOKEN}` } })).text();
  const counters = new Map<string, number>();
  for (const match of text.matchAll(/^origin_presence_changes_total\{type="(\w+)",reason="(\w*)"\} (\d+)$/gm)) {
    counters.set(`${match[1]}:${match[2]}`, Number(match[3]));
  }
  return counters;
}
const sum = (maps: Array<Map<string, number>>, key: string) => maps.reduce((n, m) => n + (m.get(key) ?? 0), 0);

beforeAll(async () => {
  const options = { spareOrigin: true, originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, PRESENCE_KEEP_ALIVE_SECONDS: String(KEEP_ALIVE_SECONDS) } };
  // Side by side; each kept as it comes, so afterAll stops the one that started when the other failed.
  const started = await Promise.allSettled([startFaultStack(options).then((s) => (restartStack = s)), startFaultStack(options).then((s) => (cutStack = s))]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}, 120_000);

afterAll(async () => {
  for (const ws of sockets) ws.socket.terminate();
  await Promise.all(children.map((c) => c.stop()));
  await Promise.all([restartStack?.stop(), cutStack?.stop()]);
});

describe.concurrent('presence on Redis through faults', () => {

  it('shows the same members on both origins, keeps a member connected through an origin restart, and lets one killed meanwhile leave within a lease', async ({ expect }) => {
    const stack = restartStack;
    const channel = 'private-restart';
    const stays = await liveMember(stack, channel, 'stays');
    const doomed = await memberProcess(expect, stack, channel, 'doomed');
    const both = await routed(stack, channel);
    expect(memberIds(both)).toEqual(['doomed', 'stays']);
    expect(await spare(stack, channel)).toEqual(both);
    // The last renewal of stays' lease by the old origin is before this.
    await stack.stopOrigin();
    // The proxy's DISCONNECT for it meets no origin (Pushpin retries it for about 30 s, then gives up).
    process.kill(doomed.pid, 'SIGKILL');
    const killedAt = Date.now();
    await doomed.exited;
    await new Promise((r) => setTimeout(r, 1000));
    // The spare origin still shows it: nobody could say it left.
    expect(memberIds(await spare(stack, channel))).toContain('doomed');
    await stack.startOrigin();
    const restartedAt = Date.now();
    const left = await untilPresence(() => spare(stack, channel), (s) => !memberIds(s).includes('doomed'), {
      timeoutMs: LEAVE_BOUND_MS + SLACK_MS + 30_000,
      what: 'doomed to leave',
    });
    const afterKill = Date.now() - killedAt;
    const counters = [await presenceCounters(stack.origin().url), await presenceCounters(stack.spareOrigin()!.url)];
    console.log(
      `origin restart (Redis): the member killed meanwhile left ${afterKill} ms after SIGKILL ` +
        `(${sum(counters, 'member_removed:expired') > 0 ? 'its lease lapsed' : 'the retried DISCONNECT reached the new origin'}); bound ${LEAVE_BOUND_MS} ms`,
    );
    expect(afterKill).toBeLessThan(LEAVE_BOUND_MS + SLACK_MS);
    expect(left.snapshot.members.map((m) => m.clientId)).toEqual(['stays']);
    // The connected member never left: no member_removed but doomed's, on either origin.
    expect(sum(counters, 'member_removed:expired') + sum(counters, 'member_removed:left')).toBe(1);
    // Idle past a lease after the restart: still there (the new origin renews it from the meta). Counted
    // from the restart, not from doomed's leaving: a lease the new origin did not renew (its last renewal
    // was before the old origin stopped) has lapsed and been swept by then.
    await new Promise((r) => setTimeout(r, Math.max(0, restartedAt + LEAVE_BOUND_MS + 2000 - Date.now())));
    expect(memberIds(await routed(stack, channel))).toEqual(['stays']);
    expect(await spare(stack, channel)).toEqual(await routed(stack, channel));
    stays.close(1000);
    await untilPresence(() => spare(stack, channel), (s) => s.occupancy.connections === 0, { timeoutMs: 10_000, what: 'stays to leave' });
  }, 180_000);

  it('lets every member leave within a lease when the proxy is cut, each leaving announced by one origin', async ({ expect }) => {
    const stack = cutStack;
    const channel = 'private-cut';
    for (const sub of ['a', 'b', 'c']) await liveMember(stack, channel, sub);
    expect((await spare(stack, channel)).occupancy).toMatchObject({ members: 3, connections: 3 });
    const before = [await presenceCounters(stack.origin().url), await presenceCounters(stack.spareOrigin()!.url)];
    const cutAt = Date.now();
    await stack.stopPushpin();
    const gone = await untilPresence(() => spare(stack, channel), (s) => s.occupancy.connections === 0, { timeoutMs: LEAVE_BOUND_MS + SLACK_MS + 30_000, what: 'every member to leave' });
    const afterCut = Date.now() - cutAt;
    console.log(`proxy cut: every member left ${afterCut} ms after Pushpin was stopped; bound ${LEAVE_BOUND_MS} ms`);
    expect(gone.snapshot.members).toEqual([]);
    expect(afterCut).toBeLessThan(LEAVE_BOUND_MS + SLACK_MS);
    const after = [await presenceCounters(stack.origin().url), await presenceCounters(stack.spareOrigin()!.url)];
    const removed = (key: string) => sum(after, key) - sum(before, key);
    expect(removed('member_removed:expired')).toBe(3);
    expect(removed('member_removed:left')).toBe(0);
    expect(removed('channel_vacated:expired')).toBe(1);
    await stack.startPushpin();
  }, 180_000);
});
