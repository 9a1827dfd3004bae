// The WebSocket session against hostile input, property-based: whatever events and connection meta
// arrive, the answer is well-formed (frames the client can parse, control messages the proxy knows,
// real close codes), every bad frame gets an error frame, nothing throws, and the subscriptions the
// session records agree with what it asked the proxy to subscribe, and with the history's view.
// The history is the real in-memory store; the GRIP publisher is a recorder (no proxy in a unit test).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createChannelAccess } from '../access/channelAccess.ts';
import { HistoryUnavailableError, type HistoryStore } from '../history/historyStore.ts';
import { createMemoryHistoryStore } from '../history/memoryHistoryStore.ts';
import type { GripPublisher } from '../publishing/gripPublisher.ts';
import { createMessagePublisher } from '../publishing/messagePublisher.ts';
import { closeStatusOf, encodeWebSocketEvents, decodeWebSocketEvents, type WebSocketEvent } from './websocketEvents.ts';
import { createMemoryPresenceStore } from '../presence/memoryPresenceStore.ts';
import { createPresenceTracker, type PresenceTracker } from '../presence/presenceTracker.ts';
import { runWsSession, type WsSessionOptions, type WsSessionPorts } from './wsSession.ts';
import { META, newFilterUser, readSessionState, sessionStateHeaders, type WsSessionState } from './wsSessionState.ts';
import { createWsStateSeal, sealedBarriers } from './wsStateSeal.ts';
import { DEFAULT_SUBSCRIBE_LIMITS } from './wsSubscribe.ts';

const SEALING = { seal: createWsStateSeal('a-property-test-state-secret'), connectionId: 'connection-1' };
const BARRIERS = sealedBarriers(SEALING.seal, SEALING.connectionId);

const OPTIONS: WsSessionOptions = {
  maxSubscriptions: 4,
  limits: { ...DEFAULT_SUBSCRIBE_LIMITS, inFlightWaitMs: 50 },
  keepAliveSeconds: 25,
};
const LIMITS = { maxMessagesPerChannel: 50, maxAgeMs: 3_600_000, channelIdleMs: 3_600_000, maxBytes: 1 << 20 };

const recordingGrip: GripPublisher = {
  publish: async () => {},
  encode: () => [],
  publishEncoded: async () => {},
  targets: ['recording'],
};

function portsFor(history: HistoryStore, allowPublish: boolean, presence?: PresenceTracker): WsSessionPorts {
  const publisher = createMessagePublisher(history, recordingGrip);
  return {
    ...(presence ? { presence: { touch: (t) => presence.touch(t, 60_000), release: (r) => presence.release(r), keepAliveSeconds: 30 } } : {}),
    history,
    access: createChannelAccess({ privatePrefix: 'private-', tokenSecret: 'a-property-test-secret-0123456789abcdef' }),
    publish: allowPublish ? async (input) => (await publisher.publish([input]))[0]! : undefined,
    newUser: newFilterUser,
    now: Date.now,
    barriers: BARRIERS,
  };
}

/** A history whose every call fails as an unreachable Redis does. */
function unavailableHistory(): HistoryStore {
  const fail = async (): Promise<never> => {
    throw new HistoryUnavailableError('Redis at 127.0.0.1:1: connect ECONNREFUSED');
  };
  return {
    append: fail,
    appendChannels: fail,
    read: fail,
    landed: fail,
    landedChannels: fail,
    stillInFlight: fail,
    beginSubscribe: fail,
    settleSubscribe: fail,
    gateAppends: fail,
    ungateAppends: fail,
    cancelSubscribe: fail,
    ping: fail,
    close: async () => {},
  };
}

const SERVER_FRAME_TYPES = new Set(['subscribed', 'unsubscribed', 'published', 'pong', 'error', 'message']);
const CONTROL_TYPES = new Set(['subscribe', 'unsubscribe', 'set-meta', 'keep-alive', 'send-delayed', 'flush-delayed']);
/** Codes an endpoint may put in a close frame (RFC 6455 7.4: not 1004-1006, 1015, nor below 1000). */
const sendableCloseCode = (code: number) => (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);

type Answer = { clientFrames: Array<Record<string, unknown>>; controls: Array<Record<string, unknown>> };

/** Checks every event of an answer is well-formed, and sorts out what the client and the proxy get. */
function inspect(out: WebSocketEvent[]): Answer {
  // The answer must survive the wire format.
  expect(decodeWebSocketEvents(encodeWebSocketEvents(out))).toEqual(out);
  const answer: Answer = { clientFrames: [], controls: [] };
  for (const event of out) {
    if (event.type === 'TEXT') {
      const text = event.content!.toString('utf8');
      const prefix = text.slice(0, 2);
      expect(['m:', 'c:']).toContain(prefix);
      const body = JSON.parse(text.slice(2)) as Record<string, unknown>;
      if (prefix === 'm:') {
        expect(SERVER_FRAME_TYPES.has(String(body.type)), text).toBe(true);
        if (body.type === 'error') {
          expect(typeof body.code).toBe('string');
          expect(typeof body.message).toBe('string');
        }
        answer.clientFrames.push(body);
      } else {
        expect(CONTROL_TYPES.has(String(body.type)), text).toBe(true);
        answer.controls.push(body);
      }
    } else if (event.type === 'CLOSE') {
      expect(sendableCloseCode(closeStatusOf(event).code), `close code ${closeStatusOf(event).code}`).toBe(true);
    } else {
      expect(['OPEN', 'PONG']).toContain(event.type);
    }
  }
  return answer;
}

/** The state as the next request will see it: through the proxy's meta, as Pushpin keeps it. */
function throughMeta(state: WsSessionState): WsSessionState {
  const headers = sessionStateHeaders(state, SEALING);
  for (const value of Object.values(headers)) expect(value).not.toMatch(/[\r\n\0]/);
  const meta = new Map(Object.entries(headers).map(([name, value]) => [name.replace(/^Set-Meta-/, 'meta-').toLowerCase(), value]));
  const read = readSessionState((name) => meta.get(name) || undefined, SEALING);
  expect(read.seal).toBe('valid');
  return read.state;
}

function expectConsistent(state: WsSessionState): void {
  expect(throughMeta(state)).toEqual(state);
  expect(new Set(state.subscriptions).size).toBe(state.subscriptions.length);
  expect(new Set(state.pending.map((p) => p.channel)).size).toBe(state.pending.length);
}

// --- generators -----------------------------------------------------------------------------------

const channelName = fc.oneof(
  fc.constantFrom('news', 'chat', 'a.b-c_d', 'x'),
  fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,20}$/),
  // Invalid ones: too long, with ':' (a GRIP channel), empty, leading dot, unicode.
  fc.constantFrom('', '.hidden', 'ws:news', 'c'.repeat(10_000), 'ñews', 'a b', 'news\r\nx', '__proto__'),
  fc.string({ maxLength: 30 }),
);
const since = fc.oneof(fc.constant(undefined), fc.constantFrom('0', '1', '42', '999999999999999999', '1'.repeat(19), '-1', '01', ''), fc.anything());
const command = fc.oneof(
  fc.record({ type: fc.constant('subscribe'), channel: channelName, since }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('unsubscribe'), channel: channelName }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('publish'), channel: channelName, data: fc.jsonValue(), id: fc.anything() }, { requiredKeys: ['type', 'channel'] }),
  fc.constant({ type: 'ping' }),
  fc.record({ type: fc.anything(), channel: fc.anything(), since: fc.anything(), data: fc.anything() }),
);
const textContent = fc.oneof(
  command.map((c) => JSON.stringify(c) ?? 'undefined'),
  fc.string(),
  fc.constantFrom('', 'null', '[]', '"ping"', '{"type":"ping"', '{"type":"subscribe","channel":"news"}{"type":"ping"}', '{"__proto__":{"type":"ping"}}'),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);
const pongContent = fc.oneof(
  fc.integer({ min: 0, max: 12 }).map((n) => Buffer.from(BARRIERS.payload(n))),
  // Forged: the barrier numbers without the origin's MAC, or with another connection's.
  fc.integer({ min: 0, max: 12 }).map((n) => Buffer.from(`ffsub:${n}`)),
  fc.integer({ min: 0, max: 12 }).map((n) => Buffer.from(sealedBarriers(SEALING.seal, 'another-connection').payload(n))),
  fc.constantFrom('ffsub:', 'ffsub:-1', 'ffsub:9999999999', 'ffsub:1 ', '').map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
);
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
const event: fc.Arbitrary<WebSocketEvent> = fc.oneof(
  { weight: 6, arbitrary: textContent.map((text) => ({ type: 'TEXT' as const, content: Buffer.from(text, 'utf8') })) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('TEXT' as const), content: bytes(40) }) },
  { weight: 3, arbitrary: pongContent.map((content) => ({ type: 'PONG' as const, content })) },
  { weight: 1, arbitrary: fc.constantFrom<WebSocketEvent>({ type: 'OPEN' }, { type: 'PONG' }, { type: 'PING' }, { type: 'DISCONNECT' }, { type: 'CLOSE' }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('PING' as const, 'BINARY' as const, 'CLOSE' as const), content: bytes(8) }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }).map((code) => ({ type: 'CLOSE' as const, content: Buffer.from([code >> 8, code & 255]) })) },
);
/** Connection meta as it may arrive: well-formed, garbage, or well-formed with hostile parts. */
const metaHeaders = fc.record(
  {
    'meta-user': fc.oneof(fc.constant('Ab3dEf6hIj9L'), fc.string({ maxLength: 14 })),
    'meta-chans': fc.oneof(fc.array(channelName, { maxLength: 8 }).map((c) => c.join(',')), fc.string()),
    'meta-subs': fc.oneof(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 8 }).map((c) => c.join(',')), fc.string()),
    'meta-pend': fc.oneof(
      fc
        .array(
          fc.tuple(fc.constantFrom('0', '1', '7', '99', 'x', ''), fc.constantFrom('', '42', 'x'), fc.integer({ min: 0, max: 12 }), fc.constantFrom('0', String(Date.now()), '1'.repeat(15)), fc.constantFrom('', '7'), fc.constantFrom('0', '1', '2')),
          { maxLength: 6 },
        )
        .map((entries) => entries.map(([c, s, b, t, cur, f]) => [c, s, b, t, cur, f, 0, 0, f].join(':')).join(',')),
      fc.string(),
    ),
    'meta-grants': fc.oneof(fc.constantFrom('0:1796000100:1', '1:1796000100:0,0:1:1', '0:x:1', '9:1:1'), fc.string()),
    'meta-barrier': fc.oneof(fc.integer({ min: 0, max: 20 }).map(String), fc.string({ maxLength: 12 })),
  },
  { requiredKeys: [] },
);
/** Hostile meta as if the origin had sealed it (it never would): the parser must still keep only what is well-formed. */
function stateOf(headers: Record<string, string | undefined>): WsSessionState {
  const values = [META.user, META.channels, META.subscriptions, META.pending, META.barrier, META.grants].map((name) => headers[`meta-${name.toLowerCase()}`] ?? '');
  const sealed: Record<string, string | undefined> = { ...headers, 'meta-seal': SEALING.seal.sign(SEALING.connectionId, values) };
  const read = readSessionState((name) => sealed[name], SEALING);
  expect(read.seal).toBe('valid');
  return read.state;
}

// --- properties -----------------------------------------------------------------------------------

describe('WebSocket session: hostile events and meta (property-based)', () => {
  it('answers any events on any connection state with well-formed frames, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 12 }), metaHeaders, fc.boolean(), async (events, headers, allowPublish) => {
        const history = createMemoryHistoryStore(LIMITS);
        const { out, state } = await runWsSession(events, stateOf(headers), portsFor(history, allowPublish), OPTIONS);
        inspect(out);
        expectConsistent(state);
      }),
      { numRuns: 400 },
    );
  });

  it('answers every frame that is not a valid command with an error frame, and only those', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(textContent, { minLength: 1, maxLength: 10 }), async (texts) => {
        const history = createMemoryHistoryStore(LIMITS);
        const events = texts.map((text): WebSocketEvent => ({ type: 'TEXT', content: Buffer.from(text, 'utf8') }));
        const { out } = await runWsSession([{ type: 'OPEN' }, ...events], { subscriptions: [], pending: [], barrier: 0, grants: [] }, portsFor(history, false), OPTIONS);
        const errors = inspect(out).clientFrames.filter((f) => f.type === 'error');
        const invalid = texts.filter((text) => !isAcceptableCommand(text)).length;
        // Valid commands may also be refused (too many subscriptions, publishing not allowed), never the reverse.
        expect(errors.length).toBeGreaterThanOrEqual(invalid);
        const codes = new Set(['invalid_json', 'invalid_frame', 'unknown_type', 'invalid_channel', 'invalid_since', 'invalid_message', 'too_many_subscriptions', 'publish_forbidden']);
        for (const error of errors) expect(codes, String(error.code)).toContain(error.code);
      }),
      { numRuns: 300 },
    );
  });

  it('with the history unavailable, answers error frames naming the channel, never throws, keeps no subscribe half-done', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 12 }), metaHeaders, fc.boolean(), async (events, headers, allowPublish) => {
        const { out, state } = await runWsSession(events, stateOf(headers), portsFor(unavailableHistory(), allowPublish), OPTIONS);
        const { clientFrames } = inspect(out);
        expectConsistent(state);
        for (const frame of clientFrames.filter((f) => f.type === 'error' && (f.code === 'subscribe_failed' || f.code === 'history_unavailable'))) {
          expect(typeof frame.channel).toBe('string');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells a client whose subscribe met an unavailable history which channel to subscribe to again', async () => {
    const { out, state } = await runWsSession(
      [{ type: 'OPEN' }, { type: 'TEXT', content: Buffer.from('{"type":"subscribe","channel":"news","since":"42"}') }],
      { subscriptions: [], pending: [], barrier: 0, grants: [] },
      portsFor(unavailableHistory(), false),
      OPTIONS,
    );
    expect(inspect(out).clientFrames).toEqual([
      { type: 'error', code: 'history_unavailable', message: expect.stringMatching(/news again/), channel: 'news' },
    ]);
    expect(state.pending).toEqual([]);
  });

  it('keeps what it records, what it asked the proxy, and the history in agreement over any subscribe/unsubscribe sequence', async () => {
    const step = fc.record({ subscribe: fc.boolean(), channel: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), withSince: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 14 }), fc.integer({ min: 0, max: 3 }), async (steps, publishesBetween) => {
        const history = createMemoryHistoryStore(LIMITS);
        const publisher = createMessagePublisher(history, recordingGrip);
        const presence = createPresenceTracker(createMemoryPresenceStore());
        const proxy = new ProxyModel(history, presence);
        const counted = async () => {
          const occupied = new Set<string>();
          for (const channel of ['a', 'b', 'c', 'd', 'e', 'f']) {
            const { occupancy } = await presence.read(channel, { limit: 1 });
            expect(occupancy.connections).toBeLessThanOrEqual(1);
            if (occupancy.connections === 1) occupied.add(channel);
          }
          return occupied;
        };
        const expected = new Set<string>();
        await proxy.send([{ type: 'OPEN' }]);
        for (const { subscribe, channel, withSince } of steps) {
          const frame = subscribe ? { type: 'subscribe', channel, ...(withSince ? { since: '0' } : {}) } : { type: 'unsubscribe', channel };
          const answer = await proxy.send([{ type: 'TEXT', content: Buffer.from(JSON.stringify(frame)) }]);
          if (subscribe && (expected.has(channel) || expected.size < OPTIONS.maxSubscriptions)) expected.add(channel);
          else if (subscribe) expect(answer.clientFrames).toContainEqual(expect.objectContaining({ type: 'error', code: 'too_many_subscriptions' }));
          else expected.delete(channel);
          for (let n = 0; n < publishesBetween; n++) await publisher.publish([{ channel, data: n }]);
          await proxy.drainBarriers();
        }
        expect(new Set(proxy.state.subscriptions)).toEqual(expected);
        expect(proxy.state.pending).toEqual([]);
        expect(proxy.subscribed).toEqual(expected);
        // Occupancy counts the connection on exactly the channels it holds.
        expect(await counted()).toEqual(expected);
        // The history holds no subscribe in progress for the connection: nothing skips it any more.
        for (const channel of ['a', 'b', 'c', 'd', 'e', 'f']) expect((await history.append(channel, [{ data: 'check' }])).skipUsers).toEqual([]);
        // A close ends it all, and nothing is left in progress either.
        const closing = await proxy.send([{ type: 'TEXT', content: Buffer.from('{"type":"subscribe","channel":"a"}') }, { type: 'CLOSE' }]);
        expect(closing.controls.filter((c) => c.type === 'send-delayed')).toEqual([]);
        expect((await history.append('a', [{ data: 'after close' }])).skipUsers).toEqual([]);
        expect(await counted()).toEqual(new Set());
      }),
      { numRuns: 100 },
    );
  });
});

/** Whether parseClientFrame should accept a frame: the protocol's rules, restated independently. */
function isAcceptableCommand(text: string): boolean {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return false;
  const { type, channel, since: position, data, id } = frame as Record<string, unknown>;
  const validChannel = typeof channel === 'string' && /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(channel);
  switch (type) {
    case 'ping':
      return true;
    case 'subscribe':
      return validChannel && (position === undefined || position === null || (typeof position === 'string' && /^(0|[1-9]\d{0,17})$/.test(position)));
    case 'unsubscribe':
      return validChannel;
    case 'publish':
      return validChannel && data !== undefined && id === undefined;
    default:
      return false;
  }
}

/**
 * What Pushpin does with the answers, reduced to what the session relies on: it keeps the meta, applies
 * subscribe/unsubscribe controls, and answers each barrier's ping with a pong carrying its payload.
 */
class ProxyModel {
  state: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };
  readonly subscribed = new Set<string>();
  private barriers: Buffer[] = [];
  private lastBarrier = 0;

  constructor(
    private readonly history: HistoryStore,
    private readonly presence?: PresenceTracker,
  ) {}

  async send(events: WebSocketEvent[]): Promise<Answer> {
    const { out, state } = await runWsSession(events, throughMeta(this.state), portsFor(this.history, false, this.presence), OPTIONS);
    const answer = inspect(out);
    this.state = throughMeta(state);
    for (const control of answer.controls) {
      const channel = String(control.channel ?? '').replace(/^ws:/, '');
      if (control.type === 'subscribe') this.subscribed.add(channel);
      if (control.type === 'unsubscribe') this.subscribed.delete(channel);
      if (control.type === 'send-delayed') {
        // Barrier numbers only grow on a connection, so an old pong never confirms a newer subscribe.
        const barrier = Number(/^ffsub:(\d+)\./.exec(String(control.content))?.[1]);
        expect(barrier).toBeGreaterThan(this.lastBarrier);
        this.lastBarrier = barrier;
        this.barriers.push(Buffer.from(String(control.content)));
      }
    }
    return answer;
  }

  async drainBarriers(): Promise<void> {
    for (let rounds = 0; this.barriers.length > 0; rounds++) {
      expect(rounds).toBeLessThan(50);
      const pongs = this.barriers.splice(0).map((content): WebSocketEvent => ({ type: 'PONG', content }));
      await this.send(pongs);
    }
  }
}
