// The WebSocket session on private channels, as a pure function of (events, state): the real
// history store (in memory) and real tokens; the proxy is what these events and answers stand for.
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { createChannelAccess } from '../access/channelAccess.ts';
import { signSubscribeToken } from '../access/subscribeToken.ts';
import { createMemoryHistoryStore } from '../history/memoryHistoryStore.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import { encodeWebSocketEvents, type WebSocketEvent } from './websocketEvents.ts';
import { GRANT_KEEP_ALIVE_SECONDS, runWsSession, type WsSessionPorts, type WsSessionResult } from './wsSession.ts';
import type { WsSessionState } from './wsSessionState.ts';
import { CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS, CATCH_UP_KEEP_ALIVE_SECONDS, DEFAULT_SUBSCRIBE_LIMITS } from './wsSubscribe.ts';
import { createWsStateSeal, sealedBarriers } from './wsStateSeal.ts';
import { readSessionState, sessionStateHeaders } from './wsSessionState.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const T0 = 1_796_000_000;
let nowMs = T0 * 1000;
let history: HistoryStore;
let scheduled: number[];
/** The expiries scheduled by an answer that subscribes the connection to their channel. */
let subscribedExpiries: number[];
let published: string[];

const SEALING = { seal: createWsStateSeal('a-test-state-secret'), connectionId: 'connection-1' };
const BARRIERS = sealedBarriers(SEALING.seal, SEALING.connectionId);

/** The state as the next request reads it, after the proxy kept it in the connection's meta. */
function throughMeta(state: WsSessionState): WsSessionState {
  const meta = new Map(Object.entries(sessionStateHeaders(state, SEALING)).map(([name, value]) => [name.replace(/^Set-Meta-/, 'meta-').toLowerCase(), value]));
  return readSessionState((name) => meta.get(name) || undefined, SEALING).state;
}
const pong = (barrier: number): WebSocketEvent => ({ type: 'PONG', content: Buffer.from(BARRIERS.payload(barrier)) });

const token = (channels: string[], ttlSeconds: number, publish = false) =>
  signSubscribeToken({ channels, ttlSeconds, publish }, SECRET, Math.floor(nowMs / 1000));

function ports(): WsSessionPorts {
  return {
    history,
    access: createChannelAccess({ privatePrefix: 'private-', tokenSecret: SECRET }, () => Math.floor(nowMs / 1000)),
    scheduleExpiry: (exp, subscribing) => {
      scheduled.push(exp);
      if (subscribing) subscribedExpiries.push(exp);
    },
    publish: async (input) => {
      published.push(input.channel);
      return { id: String(published.length), channel: input.channel, data: input.data, ts: nowMs, duplicate: false };
    },
    newUser: () => 'User0000000A',
    now: () => nowMs,
    barriers: BARRIERS,
  };
}

const text = (frame: unknown): WebSocketEvent => ({ type: 'TEXT', content: Buffer.from(JSON.stringify(frame)) });
const EMPTY: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };
const run = (events: WebSocketEvent[], state: WsSessionState = EMPTY) =>
  runWsSession(events, state, ports(), { maxSubscriptions: 20, limits: DEFAULT_SUBSCRIBE_LIMITS, keepAliveSeconds: 25 });

/** The client frames (JSON) and proxy controls (c:...) of an answer. */
function framesOf(result: WsSessionResult): { client: Array<Record<string, unknown>>; controls: Array<Record<string, unknown>> } {
  const client: Array<Record<string, unknown>> = [];
  const controls: Array<Record<string, unknown>> = [];
  for (const event of result.out) {
    if (event.type !== 'TEXT') continue;
    const body = event.content!.toString('utf8');
    if (body.startsWith('c:')) controls.push(JSON.parse(body.slice(2)));
    else if (body.startsWith('m:')) client.push(JSON.parse(body.slice(2)));
  }
  return { client, controls };
}

/** Subscribes and answers barriers until the subscription is live. */
async function subscribeLive(frame: Record<string, unknown>, state: WsSessionState): Promise<{ state: WsSessionState; results: WsSessionResult[] }> {
  const results = [await run([text({ type: 'subscribe', ...frame })], state)];
  for (let i = 0; i < 5 && results.at(-1)!.state.pending.length > 0; i++) {
    const barrier = results.at(-1)!.state.barrier;
    results.push(await run([pong(barrier)], results.at(-1)!.state));
  }
  return { state: results.at(-1)!.state, results };
}

beforeEach(() => {
  nowMs = T0 * 1000;
  history = createMemoryHistoryStore({ maxMessagesPerChannel: 100, maxAgeMs: 3_600_000, channelIdleMs: 7 * 86_400_000 }, () => nowMs);
  scheduled = [];
  subscribedExpiries = [];
  published = [];
});

describe('WebSocket session on private channels', () => {
  it.each<[string, () => Promise<Record<string, unknown>>]>([
    ['no token', async () => ({})],
    ['a token for another channel', async () => ({ token: await token(['private-b'], 60) })],
    ['an expired token', async () => ({ token: await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 5 }, SECRET, T0 - 60) })],
    ['a forged token', async () => ({ token: await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, `${SECRET}!`, T0) })],
  ])('refuses a subscribe with %s: an error frame and no subscription', async (_name, extra) => {
    const opened = await run([{ type: 'OPEN' }]);
    const result = await run([text({ type: 'subscribe', channel: 'private-a', ...(await extra()) })], opened.state);
    const { client, controls } = framesOf(result);
    expect(client).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden', channel: 'private-a' })]);
    expect(controls.filter((c) => c.type === 'subscribe')).toEqual([]);
    expect(result.state).toMatchObject({ subscriptions: [], pending: [], grants: [] });
    expect(result.keepAliveIntervalSeconds).toBeUndefined();
  });

  it('subscribes with a valid token, holds the expiry channel, asks for keep-alives and schedules the close', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const { state, results } = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60) }, opened.state);
    expect(state.subscriptions).toEqual(['private-a']);
    expect(state.grants).toEqual([{ channel: 'private-a', exp: T0 + 60, publish: false }]);
    const controls = framesOf(results[0]!).controls;
    expect(controls).toContainEqual(expect.objectContaining({ type: 'subscribe', channel: 'ws:private-a' }));
    expect(controls).toContainEqual({ type: 'subscribe', channel: `expiry:ws:${T0 + 60}` });
    // Keep-alives every 20 s while the subscribe is in progress, then the grant's.
    expect(results[0]!.keepAliveIntervalSeconds).toBe(CATCH_UP_KEEP_ALIVE_SECONDS);
    expect(results.at(-1)!.keepAliveIntervalSeconds).toBe(GRANT_KEEP_ALIVE_SECONDS);
    expect(scheduled).toContain(T0 + 60);
    // Only the answer that subscribes the expiry channel says so (a close near exp is then repeated).
    expect(results.length).toBeGreaterThan(1);
    expect(subscribedExpiries).toEqual([T0 + 60]);
    expect(framesOf(results.at(-1)!).client.concat(...results.map((r) => framesOf(r).client))).toContainEqual(
      expect.objectContaining({ type: 'subscribed', channel: 'private-a' }),
    );
  });

  it('a token with a fractional exp: the grant is in whole seconds and survives the proxy meta (the keep-alive check has it)', async () => {
    const fractional = await new SignJWT({ channels: ['private-a'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(T0 + 3600.5)
      .sign(new TextEncoder().encode(SECRET));
    const opened = await run([{ type: 'OPEN' }]);
    const { state, results } = await subscribeLive({ channel: 'private-a', token: fractional }, opened.state);
    expect(throughMeta(state).grants).toEqual([{ channel: 'private-a', exp: T0 + 3600, publish: false }]);
    expect(framesOf(results[0]!).controls).toContainEqual({ type: 'subscribe', channel: `expiry:ws:${T0 + 3600}` });
    expect(new Set(scheduled)).toEqual(new Set([T0 + 3600]));
  });

  it('a fresh token on a live subscription moves its end, without a new handshake', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const live = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60) }, opened.state);
    nowMs += 30_000;
    const refreshed = await run([text({ type: 'subscribe', channel: 'private-a', token: await token(['private-*'], 300) })], live.state);
    const { client, controls } = framesOf(refreshed);
    expect(client).toEqual([{ type: 'refreshed', channel: 'private-a', expiresAt: T0 + 330 }]);
    expect(controls).toEqual([
      { type: 'subscribe', channel: `expiry:ws:${T0 + 330}` },
      { type: 'unsubscribe', channel: `expiry:ws:${T0 + 60}` },
    ]);
    expect(refreshed.state.pending).toEqual([]);
    expect(refreshed.state.grants).toEqual([{ channel: 'private-a', exp: T0 + 330, publish: false }]);
  });

  it('a bad token on a live subscription is refused and leaves the subscription as it was', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const live = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60) }, opened.state);
    const result = await run([text({ type: 'subscribe', channel: 'private-a', token: 'garbage.garbage.garbage' })], live.state);
    expect(framesOf(result).client).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
    expect(result.state.grants).toEqual(live.state.grants);
    expect(result.state.subscriptions).toEqual(['private-a']);
  });

  it('closes the connection (4001) on any call after a grant expired', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const live = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60) }, opened.state);
    nowMs += 60_000;
    const result = await run([], live.state);
    expect(framesOf(result).client).toEqual([expect.objectContaining({ type: 'error', code: 'token_expired', channel: 'private-a' })]);
    const close = result.out.find((e) => e.type === 'CLOSE');
    expect(close?.content?.readUInt16BE(0)).toBe(4001);
  });

  it('unsubscribing drops the grant, the expiry channel and the keep-alives', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const live = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60) }, opened.state);
    const result = await run([text({ type: 'unsubscribe', channel: 'private-a' })], live.state);
    expect(result.state.grants).toEqual([]);
    expect(framesOf(result).controls).toContainEqual({ type: 'unsubscribe', channel: `expiry:ws:${T0 + 60}` });
    expect(result.keepAliveIntervalSeconds).toBe(0);
  });

  it('publishing to a private channel takes a token with "publish": true, in the frame or the subscription', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const denied = await run([text({ type: 'publish', channel: 'private-a', data: 1 })], opened.state);
    expect(framesOf(denied).client).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
    const readOnly = await run([text({ type: 'publish', channel: 'private-a', data: 2, token: await token(['private-a'], 60) })], opened.state);
    expect(framesOf(readOnly).client).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
    expect(published).toEqual([]);
    const withClaim = await run([text({ type: 'publish', channel: 'private-a', data: 3, token: await token(['private-a'], 60, true) })], opened.state);
    expect(framesOf(withClaim).client).toEqual([expect.objectContaining({ type: 'published', channel: 'private-a' })]);
    const live = await subscribeLive({ channel: 'private-a', token: await token(['private-a'], 60, true) }, opened.state);
    const viaSubscription = await run([text({ type: 'publish', channel: 'private-a', data: 4 })], live.state);
    expect(framesOf(viaSubscription).client).toEqual([expect.objectContaining({ type: 'published' })]);
    expect(published).toEqual(['private-a', 'private-a']);
  });

  it('leaves public channels as they were: no token, no grant, keep-alives only while the subscribe is in progress', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const { state, results } = await subscribeLive({ channel: 'news' }, opened.state);
    expect(state.subscriptions).toEqual(['news']);
    expect(state.grants).toEqual([]);
    expect(results.map((r) => r.keepAliveIntervalSeconds)).toEqual([...results.slice(0, -1).map(() => CATCH_UP_KEEP_ALIVE_SECONDS), 0]);
  });
});

describe('WebSocket session barriers', () => {
  it('a pong the connection was never sent (a forged payload, or another connection\'s) moves nothing', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    const barrier = subscribing.state.barrier;
    const other = sealedBarriers(SEALING.seal, 'connection-2').payload(barrier);
    for (const content of [`ffsub:${barrier}`, other, `${BARRIERS.payload(barrier)}x`]) {
      const answer = await run([{ type: 'PONG', content: Buffer.from(content) }], subscribing.state);
      expect(framesOf(answer).client).toEqual([]);
      expect(answer.state).toEqual(subscribing.state);
    }
    expect(framesOf(await run([pong(barrier)], subscribing.state)).client).toContainEqual(expect.objectContaining({ type: 'subscribed', channel: 'a' }));
  });

  it('never reuses a barrier number: a pong of an older barrier cannot confirm a newer subscribe', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const a = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    const roundA = await run([pong(a.state.barrier)], a.state);
    const waitingOn = roundA.state.pending.map((p) => p.barrier);
    expect(roundA.state.barrier).toBe(Math.max(...waitingOn));
    const b = await run([text({ type: 'subscribe', channel: 'b' })], roundA.state);
    const barriers = b.state.pending.map((p) => p.barrier);
    expect(new Set(barriers).size).toBe(barriers.length);
  });
});

describe('WebSocket catch-up whose pong goes missing', () => {
  // A keep-alive request: the proxy calls with no events (Keep-Alive-Interval) while a subscribe is in progress.
  const keepAlive = (state: WsSessionState) => run([], state);
  const barrierOf = (result: WsSessionResult) =>
    framesOf(result).controls.find((c) => c.type === 'send-delayed' && c['message-type'] === 'ping')?.content;
  const controlsOf = (result: WsSessionResult, type: string) => framesOf(result).controls.filter((c) => c.type === type);

  it('a pong the proxy held until a keep-alive 20 s later still moves the catch-up on', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    nowMs += 20_000;
    const late = await run([pong(subscribing.state.barrier)], subscribing.state);
    expect(framesOf(late).client).toContainEqual(expect.objectContaining({ type: 'subscribed', channel: 'a' }));
  });

  it('a barrier with no pong is sent again at the next request after 10 s; its pong moves the catch-up on', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    nowMs += 5_000;
    const early = await keepAlive(subscribing.state);
    expect(barrierOf(early)).toBeUndefined();
    nowMs += 15_000;
    const resent = await keepAlive(early.state);
    expect(framesOf(resent).client).toEqual([]);
    expect(barrierOf(resent)).toBe(BARRIERS.payload(resent.state.barrier));
    expect(resent.state.barrier).toBeGreaterThan(subscribing.state.barrier);
    expect(resent.state.pending).toEqual([expect.objectContaining({ channel: 'a', resent: true, barrier: resent.state.barrier })]);
    // The skipping was renewed with it: 20 s after the subscribe began, a message still skips the connection.
    expect((await history.append('a', [{ data: 1 }])).skipUsers).toEqual(['User0000000A']);
    // Through the proxy's meta, as the next request reads it.
    const answered = await run([pong(resent.state.barrier)], throughMeta(resent.state));
    expect(framesOf(answered).client).toContainEqual(expect.objectContaining({ type: 'subscribed', channel: 'a' }));
    expect(answered.state.pending.every((p) => p.resent !== true)).toBe(true);
  });

  it('a barrier sent again with still no pong fails the subscribe, and the channel stops skipping the connection', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    nowMs += 20_000;
    const resent = await keepAlive(subscribing.state);
    nowMs += 20_000;
    const failed = await keepAlive(resent.state);
    expect(framesOf(failed).client).toEqual([expect.objectContaining({ type: 'error', code: 'subscribe_failed', channel: 'a' })]);
    expect(failed.state.pending).toEqual([]);
    expect(controlsOf(failed, 'unsubscribe')).toEqual([{ type: 'unsubscribe', channel: 'ws:a' }]);
    expect((await history.append('a', [{ data: 1 }])).skipUsers).toEqual([]);
  });

  it('a pong that comes after the skipping may have lapsed is not acted on: the subscribe fails', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    nowMs += DEFAULT_SUBSCRIBE_LIMITS.subscribeTimeoutMs;
    const late = await run([pong(subscribing.state.barrier)], subscribing.state);
    expect(framesOf(late).client).toEqual([expect.objectContaining({ type: 'error', code: 'subscribe_failed', channel: 'a' })]);
  });

  it('asks the proxy to call every 20 s and to write to the idle client every 3 s while a subscribe is in progress, and puts both back after', async () => {
    const opened = await run([{ type: 'OPEN' }]);
    const subscribing = await run([text({ type: 'subscribe', channel: 'a' })], opened.state);
    expect(subscribing.keepAliveIntervalSeconds).toBe(CATCH_UP_KEEP_ALIVE_SECONDS);
    expect(controlsOf(subscribing, 'keep-alive')).toEqual([expect.objectContaining({ 'message-type': 'pong', timeout: CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS })]);
    const { results } = await subscribeLive({ channel: 'b' }, subscribing.state);
    let state = results.at(-1)!.state;
    const all = [...results];
    for (let i = 0; i < 5 && state.pending.length > 0; i++) {
      all.push(await run([pong(state.barrier)], state));
      state = all.at(-1)!.state;
    }
    expect(state.pending).toEqual([]);
    const last = all.at(-1)!;
    expect(last.keepAliveIntervalSeconds).toBe(0);
    expect(controlsOf(last, 'keep-alive')).toEqual([expect.objectContaining({ 'message-type': 'pong', timeout: 25 })]);
    // In between, no keep-alive changes: only when the connection starts or ends catching up.
    expect(all.slice(0, -1).flatMap((r) => controlsOf(r, 'keep-alive'))).toEqual([]);
  });
});

describe('WebSocket message frames', () => {
  it('name the position before each message, a chain from the subscribe position through paged catch-up rounds', async () => {
    // 60 messages of ~200 bytes: more than the first 4 KB round, so the catch-up takes several rounds.
    const appended = await history.append('c', Array.from({ length: 60 }, (_, n) => ({ data: { n, pad: 'x'.repeat(150) } })));
    const ids = appended.messages.map((m) => m.message.id);
    await history.landed('c', ids); // published: nothing in flight for the subscribe to wait on
    const opened = await run([{ type: 'OPEN' }]);
    const { results } = await subscribeLive({ channel: 'c', since: ids[9]! }, opened.state);
    const frames = results.flatMap((r) => framesOf(r).client);
    expect(frames[0]).toMatchObject({ type: 'subscribed', lastId: ids[9] });
    const messages = frames.filter((f) => f.type === 'message');
    expect(results.length).toBeGreaterThan(2); // paged: the chain crosses rounds
    expect(messages.map((m) => m.id)).toEqual(ids.slice(10));
    expect(messages.map((m) => m.prev)).toEqual(ids.slice(9, -1));
  });
});

describe('WebSocket answers stay under the proxy limit', () => {
  // Pushpin drops a connection whose WebSocket-over-HTTP answer is over 1,000,000 bytes; the client
  // would repeat the same resubscribe and be dropped again, forever. And it holds a client frame while
  // more than 200,000 bytes of answers wait for the client (ANSWER_CATCH_UP_BUDGET_BYTES).
  it.each([
    [10, 1000, 1024],
    [4, 200, 5 * 1024],
    [20, 60, 60 * 1024],
  ])('resubscribing %i channels with since, each %i messages of %i bytes: every answer under the limit, every message once', async (channels, count, size) => {
    history = createMemoryHistoryStore({ maxMessagesPerChannel: 2000, maxAgeMs: 3_600_000, channelIdleMs: 7 * 86_400_000, maxBytes: 2 ** 32 }, () => nowMs);
    const names = Array.from({ length: channels }, (_, i) => `big-${i}`);
    const ids = new Map<string, string[]>();
    for (const channel of names) {
      const appended = await history.append(channel, Array.from({ length: count }, (_, n) => ({ data: { n, pad: 'x'.repeat(size - 20) } })));
      ids.set(channel, appended.messages.map((m) => m.message.id));
      await history.landed(channel, ids.get(channel)!);
    }
    const opened = await run([{ type: 'OPEN' }]);
    let result = await run(names.map((channel) => text({ type: 'subscribe', channel, since: '0' })), opened.state);
    const received = new Map<string, string[]>(names.map((c) => [c, []]));
    let largest = 0;
    for (let answers = 0; result.state.pending.length > 0; answers++) {
      expect(answers).toBeLessThan(2000);
      result = await run([pong(result.state.barrier)], result.state);
      largest = Math.max(largest, encodeWebSocketEvents(result.out).length);
      for (const frame of framesOf(result).client) if (frame.type === 'message') received.get(String(frame.channel))!.push(String(frame.id));
    }
    expect(largest).toBeLessThan(200_000);
    for (const channel of names) expect(received.get(channel)).toEqual(ids.get(channel));
  }, 60_000);
});
