// Presence and occupancy of WebSocket connections, through the session as a pure function of (events,
// state): the real history and presence stores (in memory, on a test clock) and real tokens.
import { beforeEach, describe, expect, it } from 'vitest';
import { createChannelAccess } from '../access/channelAccess.ts';
import { signSubscribeToken } from '../access/subscribeToken.ts';
import { createMemoryHistoryStore } from '../history/memoryHistoryStore.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import { createMemoryPresenceStore } from '../presence/memoryPresenceStore.ts';
import { createPresenceTracker, type PresenceTracker } from '../presence/presenceTracker.ts';
import { PresenceUnavailableError, type PresenceChange, type PresenceStore } from '../presence/presenceStore.ts';
import type { WebSocketEvent } from './websocketEvents.ts';
import { planLeases, RENEW_AFTER_MS, wsLeaseTtlMs, type WsPresencePort } from './wsPresence.ts';
import { runWsSession, type WsSessionPorts, type WsSessionResult } from './wsSession.ts';
import { readSessionState, sessionStateHeaders, type WsSessionState } from './wsSessionState.ts';
import { createWsStateSeal, sealedBarriers } from './wsStateSeal.ts';
import { CATCH_UP_KEEP_ALIVE_SECONDS, DEFAULT_SUBSCRIBE_LIMITS } from './wsSubscribe.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const KEEP_ALIVE = 30;
const T0 = 1_796_000_000_000;
let nowMs = T0;
let history: HistoryStore;
let store: PresenceStore;
let tracker: PresenceTracker;
let changes: PresenceChange[];
let storeDown = false;
let refusals: string[];

const SEALING = { seal: createWsStateSeal('a-test-state-secret'), connectionId: 'connection-1' };
const BARRIERS = sealedBarriers(SEALING.seal, SEALING.connectionId);

function throughMeta(state: WsSessionState): WsSessionState {
  const meta = new Map(Object.entries(sessionStateHeaders(state, SEALING)).map(([name, value]) => [name.replace(/^Set-Meta-/, 'meta-').toLowerCase(), value]));
  return readSessionState((name) => meta.get(name) || undefined, SEALING).state;
}

const token = (claims: { sub?: string; info?: Record<string, unknown>; channels?: string[] } = {}) =>
  signSubscribeToken({ channels: claims.channels ?? ['private-*'], ttlSeconds: 3600, ...claims }, SECRET, Math.floor(nowMs / 1000));

function newStore(max = 100): void {
  store = createMemoryPresenceStore({ maxConnectionsPerChannel: max }, () => nowMs);
  tracker = createPresenceTracker(store);
  tracker.listen((c) => changes.push(...c));
}

function ports(user = 'User0000000A'): WsSessionPorts {
  const presence: WsPresencePort = {
    touch: (touches) => (storeDown ? Promise.reject(new PresenceUnavailableError('down')) : tracker.touch(touches, wsLeaseTtlMs(KEEP_ALIVE))),
    release: (releases) => (storeDown ? Promise.reject(new PresenceUnavailableError('down')) : tracker.release(releases)),
    keepAliveSeconds: KEEP_ALIVE,
  };
  return {
    history,
    access: createChannelAccess({ privatePrefix: 'private-', tokenSecret: SECRET }, () => Math.floor(nowMs / 1000)),
    publish: undefined,
    newUser: () => user,
    now: () => nowMs,
    barriers: BARRIERS,
    presence,
    observe: { presenceRefused: (reason) => refusals.push(reason) },
  };
}

const text = (frame: unknown): WebSocketEvent => ({ type: 'TEXT', content: Buffer.from(JSON.stringify(frame)) });
const pong = (barrier: number): WebSocketEvent => ({ type: 'PONG', content: Buffer.from(BARRIERS.payload(barrier)) });
const EMPTY: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };
async function run(events: WebSocketEvent[], state: WsSessionState = EMPTY, user?: string): Promise<WsSessionResult> {
  const result = await runWsSession(events, state, ports(user), { maxSubscriptions: 20, limits: DEFAULT_SUBSCRIBE_LIMITS, keepAliveSeconds: 25 });
  return { ...result, state: throughMeta(result.state) };
}
const clientFrames = (result: WsSessionResult) =>
  result.out.filter((e) => e.type === 'TEXT' && e.content!.toString().startsWith('m:')).map((e) => JSON.parse(e.content!.toString().slice(2)) as Record<string, unknown>);
/** Subscribes and answers barriers until the subscription is live (a pending one fails after 15 s). */
async function subscribeLive(frame: Record<string, unknown>, state: WsSessionState): Promise<WsSessionState> {
  let result = await run([text({ type: 'subscribe', ...frame })], state);
  for (let i = 0; i < 5 && result.state.pending.length > 0; i++) result = await run([pong(result.state.barrier)], result.state);
  expect(result.state.subscriptions).toContain(frame.channel);
  return result.state;
}
const summary = (c: PresenceChange[]) => c.map((x) => `${x.type}${x.clientId ? `:${x.clientId}` : ''}${x.reason ? `:${x.reason}` : ''}`);
const occupancy = async (channel: string) => (await tracker.read(channel, { limit: 100 })).occupancy;

beforeEach(() => {
  nowMs = T0;
  history = createMemoryHistoryStore({ maxMessagesPerChannel: 100, maxAgeMs: 3_600_000, channelIdleMs: 7 * 86_400_000 }, () => nowMs);
  changes = [];
  refusals = [];
  storeDown = false;
  newStore();
});

describe('WebSocket presence', () => {
  it('enters a subscriber with "presence" as its token\'s sub, with its info, at once, and asks the proxy to keep calling', async () => {
    const open = await run([{ type: 'OPEN' }]);
    const t = await token({ sub: 'ann', info: { name: 'Ann' } });
    const sub = await run([text({ type: 'subscribe', channel: 'private-room', token: t, presence: true })], open.state);
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann']);
    expect(changes[1]!.info).toEqual({ name: 'Ann' });
    // While its subscribe is in progress the catch-up's keep-alive is the shorter one.
    expect(sub.keepAliveIntervalSeconds).toBe(Math.min(KEEP_ALIVE, CATCH_UP_KEEP_ALIVE_SECONDS));
    expect(sub.state.presence).toEqual([{ channel: 'private-room', clientId: 'ann', info: { name: 'Ann' } }]);
    expect(await occupancy('private-room')).toEqual({ connections: 1, members: 1, byTransport: { websocket: 1, sse: 0, stream: 0, poll: 0 } });
    // A second connection of the same member: one member, two connections.
    const other = await run([{ type: 'OPEN' }], EMPTY, 'User0000000B');
    await run([text({ type: 'subscribe', channel: 'private-room', token: t, presence: true })], other.state, 'User0000000B');
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann']);
    expect((await tracker.read('private-room', { limit: 10 })).members).toEqual([{ clientId: 'ann', info: { name: 'Ann' }, connections: 2 }]);
  });

  it('counts a plain subscriber on any channel, without a member', async () => {
    const open = await run([{ type: 'OPEN' }]);
    const sub = await run([text({ type: 'subscribe', channel: 'news' })], open.state);
    expect(summary(changes)).toEqual(['channel_occupied']);
    expect(await occupancy('news')).toMatchObject({ connections: 1, members: 0 });
    expect(sub.keepAliveIntervalSeconds).toBe(Math.min(KEEP_ALIVE, CATCH_UP_KEEP_ALIVE_SECONDS));
  });

  it.each<[string, () => Promise<Record<string, unknown>>]>([
    ['a public channel', async () => ({ channel: 'news' })],
    ['a token without sub', async () => ({ channel: 'private-room', token: await token() })],
    ['a sub over 128 characters', async () => ({ channel: 'private-room', token: await token({ sub: 'x'.repeat(129) }) })],
  ])('refuses presence on %s, and subscribes nothing', async (_name, frame) => {
    const open = await run([{ type: 'OPEN' }]);
    const result = await run([text({ type: 'subscribe', presence: true, ...(await frame()) })], open.state);
    expect(clientFrames(result)).toMatchObject([{ type: 'error', code: 'presence_refused' }]);
    expect(result.state.pending).toEqual([]);
    expect(result.state.grants).toEqual([]);
    expect(changes).toEqual([]);
    expect(refusals).toEqual(['not-member']);
  });

  it('lets a connection be in presence as at most two members', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    for (const sub of ['ann', 'bob']) {
      state = (await run([text({ type: 'subscribe', channel: `private-${sub}`, token: await token({ sub }), presence: true })], state)).state;
    }
    const third = await run([text({ type: 'subscribe', channel: 'private-carol', token: await token({ sub: 'carol' }), presence: true })], state);
    expect(clientFrames(third)).toMatchObject([{ type: 'error', code: 'presence_refused', channel: 'private-carol' }]);
    // The same member again is no new one.
    const again = await run([text({ type: 'subscribe', channel: 'private-x', token: await token({ sub: 'ann' }), presence: true })], state);
    expect(clientFrames(again)).toEqual([]);
    expect(again.state.presence).toHaveLength(3);
  });

  it('leaves on unsubscribe, and stops asking for keep-alives with the last lease', async () => {
    const open = await run([{ type: 'OPEN' }]);
    const sub = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true })], open.state);
    const unsub = await run([text({ type: 'unsubscribe', channel: 'private-room' })], sub.state);
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann', 'member_removed:ann:left', 'channel_vacated:left']);
    expect(unsub.state.presence).toBeUndefined();
    expect(unsub.keepAliveIntervalSeconds).toBe(0);
  });

  it.each<[string, WebSocketEvent]>([
    ['CLOSE', { type: 'CLOSE', content: Buffer.from([0x03, 0xe8]) }],
    ['DISCONNECT', { type: 'DISCONNECT' }],
  ])('leaves every channel on %s', async (_name, event) => {
    let state = (await run([{ type: 'OPEN' }])).state;
    state = (await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true }), text({ type: 'subscribe', channel: 'news' })], state)).state;
    await run([event], state);
    expect(summary(changes.filter((c) => c.channel === 'private-room'))).toEqual(['channel_occupied', 'member_added:ann', 'member_removed:ann:left', 'channel_vacated:left']);
    expect(summary(changes.filter((c) => c.channel === 'news'))).toEqual(['channel_occupied', 'channel_vacated:left']);
  });

  it('renews the leases at a keep-alive, so a live idle connection never lapses; a vanished one does', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    state = await subscribeLive({ channel: 'private-room', token: await token({ sub: 'ann' }), presence: true }, state);
    for (let i = 0; i < 5; i++) {
      // The proxy's keep-alive request: no events, every KEEP_ALIVE seconds.
      nowMs += KEEP_ALIVE * 1000;
      state = (await run([], state)).state;
      await tracker.sweep();
    }
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann']);
    // No more requests: the lease lapses within its TTL after the last renewal.
    nowMs += wsLeaseTtlMs(KEEP_ALIVE) - 1;
    await tracker.sweep();
    expect(changes).toHaveLength(2);
    nowMs += 1;
    await tracker.sweep();
    expect(summary(changes).slice(2)).toEqual(['member_removed:ann:expired', 'channel_vacated:expired']);
  });

  it('renews at most once per RENEW_AFTER_MS however chatty the connection', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    state = await subscribeLive({ channel: 'news' }, state);
    let touches = 0;
    const counting = store.touch.bind(store);
    store.touch = (t, ttl) => {
      touches++;
      return counting(t, ttl);
    };
    for (let i = 0; i < 20; i++) {
      nowMs += 1000;
      state = (await run([text({ type: 'ping' })], state)).state;
    }
    expect(touches).toBe(Math.floor(20_000 / RENEW_AFTER_MS));
  });

  it('enters again after an origin restart lost the presence (memory), at the next renewal', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    state = await subscribeLive({ channel: 'private-room', token: await token({ sub: 'ann', info: { n: 1 } }), presence: true }, state);
    newStore();
    nowMs += KEEP_ALIVE * 1000;
    await run([], state);
    expect(summary(changes).slice(2)).toEqual(['channel_occupied', 'member_added:ann']);
    expect(changes.at(-1)!.info).toEqual({ n: 1 });
  });

  it('subscribes on while the store is unreachable, and counts the connection at the next request', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    storeDown = true;
    const sub = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true })], state);
    expect(clientFrames(sub).some((f) => f.type === 'error')).toBe(false);
    expect(sub.state.pending).toHaveLength(1);
    state = sub.state;
    storeDown = false;
    nowMs += 100;
    await run([text({ type: 'ping' })], state);
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann']);
  });

  it('refuses presence on a full channel, and lets a plain subscriber in uncounted', async () => {
    newStore(1);
    let state = (await run([{ type: 'OPEN' }])).state;
    state = (await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true })], state)).state;
    let other = (await run([{ type: 'OPEN' }], EMPTY, 'User0000000B')).state;
    const refused = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'bob' }), presence: true })], other, 'User0000000B');
    expect(clientFrames(refused)).toMatchObject([{ type: 'error', code: 'presence_refused' }]);
    expect(refused.state.pending).toEqual([]);
    other = (await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'bob' }) })], other, 'User0000000B')).state;
    expect(other.pending).toHaveLength(1);
    expect(refusals).toEqual(['full', 'uncounted']);
    expect(await occupancy('private-room')).toMatchObject({ connections: 1, members: 1 });
  });

  it('releases the lease of a subscribe that failed', async () => {
    const state = (await run([{ type: 'OPEN' }])).state;
    history.beginSubscribe = () => Promise.reject(new Error('boom'));
    const result = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true })], state);
    expect(clientFrames(result)).toMatchObject([{ type: 'error', code: 'subscribe_failed' }]);
    expect(summary(changes)).toEqual(['channel_occupied', 'member_added:ann', 'member_removed:ann:left', 'channel_vacated:left']);
    expect(result.state.presence).toBeUndefined();
  });
});

describe('member events on a WebSocket', () => {
  const controls = (result: WsSessionResult) =>
    result.out
      .filter((e) => e.type === 'TEXT' && e.content!.toString().startsWith('c:'))
      .map((e) => JSON.parse(e.content!.toString().slice(2)) as { type: string; channel?: string })
      .filter((c) => c.channel?.startsWith('presence:'))
      .map((c) => `${c.type} ${c.channel}`);
  const runCapped = (events: WebSocketEvent[], state: WsSessionState) =>
    runWsSession(events, state, ports(), { maxSubscriptions: 4, limits: DEFAULT_SUBSCRIBE_LIMITS, keepAliveSeconds: 25 });

  it('subscribes the connection to a channel\'s member events when asked, and ends them with the channel', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    const sub = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true, presenceEvents: true })], state);
    expect(controls(sub)).toEqual(['subscribe presence:private-room']);
    expect(sub.state.presenceEvents).toEqual(['private-room']);
    state = sub.state;
    // A refresh without it stops them; with it again, they come back.
    const refreshed = await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true })], state);
    expect(controls(refreshed)).toEqual(['unsubscribe presence:private-room']);
    state = (await run([text({ type: 'subscribe', channel: 'private-room', token: await token({ sub: 'ann' }), presence: true, presenceEvents: true })], refreshed.state)).state;
    const unsub = await run([text({ type: 'unsubscribe', channel: 'private-room' })], state);
    expect(controls(unsub)).toEqual(['unsubscribe presence:private-room']);
    expect(unsub.state.presenceEvents).toBeUndefined();
    // A subscribe refused subscribes no events either.
    const refused = await run([text({ type: 'subscribe', channel: 'news', presence: true, presenceEvents: true })], unsub.state);
    expect(controls(refused)).toEqual([]);
  });

  it('counts member events against the subscriptions a connection may hold', async () => {
    let state = (await run([{ type: 'OPEN' }])).state;
    state = (await runCapped([text({ type: 'subscribe', channel: 'a', presenceEvents: true }), text({ type: 'subscribe', channel: 'b', presenceEvents: true })], state)).state;
    const full = await runCapped([text({ type: 'subscribe', channel: 'c' })], state);
    expect(clientFrames(full)).toMatchObject([{ type: 'error', code: 'too_many_subscriptions', channel: 'c' }]);
    expect(String(clientFrames(full)[0]!.message)).toContain('2 for member events');
    // Asking for events on a channel held already counts too.
    const again = await runCapped([text({ type: 'unsubscribe', channel: 'b' }), text({ type: 'subscribe', channel: 'a', presenceEvents: true })], state);
    expect(clientFrames(again).filter((f) => f.type === 'error')).toEqual([]);
  });
});

describe('planLeases', () => {
  const state = (channels: string[], leaseAt?: number): WsSessionState => ({
    user: 'U',
    subscriptions: channels,
    pending: [],
    barrier: 0,
    grants: [],
    ...(leaseAt !== undefined ? { leaseAt } : {}),
  });
  it('releases what is no longer held (everything when closed) and renews when due', () => {
    expect(planLeases(state(['a', 'b'], 0), state(['a'], 0), [], RENEW_AFTER_MS - 1)).toEqual({ releases: [{ channel: 'b', connection: 'ws:U' }] });
    expect(planLeases(state(['a'], 0), state(['a'], 0), [], RENEW_AFTER_MS).renew).toEqual([{ channel: 'a', connection: 'ws:U', transport: 'websocket' }]);
    expect(planLeases(state(['a']), undefined, [{ channel: 'c', user: 'U' }], 0)).toEqual({
      releases: [
        { channel: 'a', connection: 'ws:U' },
        { channel: 'c', connection: 'ws:U' },
      ],
    });
    expect(planLeases(state([]), state([]), [], 0)).toEqual({ releases: [] });
  });
});
