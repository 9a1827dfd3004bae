// The client's delivery guarantee as one deterministic state machine: every message once, in order, on
// every transport; lost continuity reported, never silent. It does no I/O and reads no clock: the
// driver (api/createClient.ts) feeds it events (a frame arrived, a connection opened or ended, time
// passed) with the time, and carries out the effects it appends (open or drop a connection, send a
// frame, ask the history, hand a message to the application). For thousands of clients in one process
// it mutates its state in place and appends effects to the driver's list instead of building new state
// per message; randomness (backoff jitter) comes from the settings.
//
// The rules, each once: the per-message rule (deliveryRule.ts), the position moves (subscribed,
// resets, SSE id-only blocks, long-poll lastId), the WebSocket gap rule and pong check, the stream
// silence check (liveness.ts), backoff with full jitter (backoff.ts), transport fallback and upgrade
// (transportLadder.ts), token refresh (tokenLifetime.ts), subscribe errors, many channels on one
// WebSocket with overflow onto another connection, and many channels on one SSE or NDJSON stream
// (streamGrouping.ts: which share one; a stream reopens, with every channel's position, when one
// joins or leaves). Subscriptions given the same token share it (one refresh for all).
import {
  clientFrames,
  CLOSE_CODES,
  compareMessageIds,
  envelopeOf,
  RETRYABLE_SUBSCRIBE_ERRORS,
  type ContinuityReset,
  type Envelope,
  type PollBody,
  type PresenceEvent,
  type ServerFrame,
  type StreamChannel,
  type StreamItem,
  type TransportName,
} from '../../protocol/index.ts';
import { backoffDelayMs, type BackoffSettings } from './backoff.ts';
import { judgeMessage, positionAfter, type Judgement } from './deliveryRule.ts';
import { livenessAction, nextLivenessCheck, type LivenessClock } from './liveness.ts';
import { passOwn, recordOwn, type OwnMessages } from './ownMessages.ts';
import { canJoinStream, STREAM_SUBSCRIPTION_CAP } from './streamGrouping.ts';
import { tokenExpiryMs, tokenRefreshAt } from './tokenLifetime.ts';
import { createLadder, ladderFailed, ladderUpgrade, ladderWorked, type Ladder, type LadderSettings } from './transportLadder.ts';

/** Why a subscription connects again (counted per reason in its stats). */
export type RecoveryReason =
  /** A message did not follow the position (its `prev` is another id): the proxy dropped something. */
  | 'gap'
  /** A silent WebSocket's pong showed its channel ahead of the position: the proxy stopped sending. */
  | 'pong-behind'
  /** A silent stream: the history holds a message after the position. */
  | 'history-behind'
  /** Nothing at all arrived for the idle time (or a connection never answered). */
  | 'silent'
  /** The connection ended or failed (also the testing hook's cut). */
  | 'cut'
  /** The origin asked for the subscribe again in a moment (a retryable subscribe error). */
  | 'busy'
  /** The WebSocket holds as many channels as the origin allows: the subscription takes another one. */
  | 'overflow'
  /** A fresh token: a stream reconnects with it. */
  | 'token-refresh'
  /** The token expired or was refused (or the token function failed): a fresh one, then connect again. */
  | 'token-refused'
  /** Its SSE or NDJSON stream reopens for a channel that joins or leaves it (or that was refused on it). */
  | 'regroup'
  /** The transport could not connect: one step down. */
  | 'fallback'
  /** Back up to a better transport. */
  | 'upgrade';

export type SubscriptionStateName = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SubscriptionStats {
  /** Messages delivered (live-only ones included). */
  messages: number;
  /** Messages dropped because they were at or before the position (already delivered). */
  duplicates: number;
  /** Continuity notices (resets) delivered. */
  resets: number;
  /** Connections after the first (a long-poll's next poll is not one). */
  reconnects: number;
  /** Connections that failed before they opened (refused, an error status, no answer). */
  connectFailures: number;
  recoveries: Partial<Record<RecoveryReason, number>>;
}

export interface MachineSettings extends LadderSettings {
  /** The transports to use, best first: one, or the fallback ladder of `auto`. */
  transports: readonly TransportName[];
  /** A connection with nothing at all for this long is dead. */
  idleTimeoutMs: number;
  /** A connection with no message for this long is probed (a WebSocket pings, a stream asks the history). */
  silenceCheckMs: number;
  backoff: BackoffSettings;
  /** A connection live this long was healthy: the backoff starts over after it. */
  healthyAfterMs: number;
  /** How long before a token's `exp` to fetch the next one (default: see tokenRefreshAt). */
  tokenLeadMs?: number | undefined;
  publishTimeoutMs: number;
  /**
   * A WebSocket subscribe (or token refresh) with no answer for this long: the connection is left and
   * every subscription on it comes back on a new one. A connection can stay alive (keep-alives, pongs)
   * while the origin has lost the subscribe (its pending state went with a cut request); the origin
   * itself gives a subscribe without progress up after 15 s.
   */
  subscribeTimeoutMs: number;
  /** Transports that cannot tell a subscriber its position as it connects: without one, ask the history first. */
  locateFirst: readonly TransportName[];
  /** Transports whose keep-alives the client cannot see: no dead-connection deadline, the probe alone. */
  keepAliveHidden: readonly TransportName[];
  /** In [0, 1). */
  random(): number;
}

type TokenSource = 'none' | 'fixed' | 'function';

/** What a subscription asks of the channel's presence: to enter it (its token's `sub`), and its member events. */
export interface PresenceRequest {
  enter: boolean;
  events: boolean;
}

/** A subscription's token; subscriptions given the same one (`tokenKey`) share the record. */
interface TokenRecord {
  source: TokenSource;
  /** The driver's key for the token given (undefined: this subscription's own). */
  key: number | string | undefined;
  value: string | undefined;
  expMs: number | undefined;
  refreshAt: number;
  fetching: boolean;
  /** The subscription whose `fetch-token` is in flight (its answer comes back in its name). */
  fetchedBy: number | undefined;
}

export interface SubRecord {
  readonly id: number;
  readonly channel: string;
  /** The id of the last stored message delivered (or where the origin placed us); undefined until known. */
  position: string | undefined;
  phase: 'token' | 'locate' | 'backoff' | 'connecting' | 'live' | 'closed';
  conn: ConnRecord | undefined;
  retryAt: number;
  /** Connections in a row that ended before they were healthy. */
  failures: number;
  liveSince: number;
  /** Live once: `ready` resolved. */
  ready: boolean;
  connects: number;
  /** WebSocket: a subscribe frame is waiting for its answer, and its sequence number on the connection. */
  awaiting: boolean;
  sentSeq: number;
  /** When the subscribe frame waiting for its answer was sent. */
  sentAt: number;
  state: SubscriptionStateName | undefined;
  transport: TransportName | undefined;
  token: TokenRecord;
  /** Refusals in a row since the subscription was last live: the third ends it (a function that only gives refused tokens). */
  refusals: number;
  /** On its way onto a stream of its group (see openStreams), over this transport. */
  waiting?: { via: TransportName } | undefined;
  stats: SubscriptionStats;
  /** Undefined: neither entered nor watched. */
  presence?: PresenceRequest | undefined;
  /** Messages it published with skipSelf on its WebSocket, not passed yet (see ownMessages.ts). */
  own?: OwnMessages | undefined;
}

interface PendingPublish {
  ref: number;
  channel: string;
  text: string;
  at: number;
  seq: number;
}

export interface ConnRecord extends LivenessClock {
  readonly id: number;
  readonly transport: TransportName;
  open: boolean;
  startedAt: number;
  /** The transport worked on it (an answer of the origin's came): it counts for the ladder. */
  confirmed: boolean;
  /** History checks in flight (a stream of several channels checks each). */
  checking: number;
  /** WebSocket: the origin refused a subscribe on it with too_many_subscriptions. */
  full: boolean;
  /** One for a long-poll; any number on a WebSocket; up to the subscription cap on a stream. */
  subs: SubRecord[];
  /** A stream: its subscriptions' token (`none`: public), which every subscription joining it shares. */
  group?: TokenRecord | 'none' | undefined;
  publishes: PendingPublish[];
  seq: number;
}

export type MachineEvent =
  | {
      type: 'subscribe';
      sub: number;
      channel: string;
      since?: string | undefined;
      token?: string | undefined;
      tokenFunction?: boolean;
      /** The driver's key for the token given (the string itself, or a function's number): the same key, one token (and one stream). */
      tokenKey?: number | string | undefined;
      presence?: PresenceRequest | undefined;
    }
  | { type: 'unsubscribe'; sub: number }
  | { type: 'close' }
  /** Time passed: the driver sends it at `wakeAt`. */
  | { type: 'tick' }
  | { type: 'token'; sub: number; token: string }
  | { type: 'token-failed'; sub: number; detail: string }
  /** The history's answer to `locate`: the channel's last id, or a failure (`status` when it answered). */
  | { type: 'located'; sub: number; lastId?: string | undefined; status?: number | undefined; detail?: string | undefined }
  /** The history's answer to `check`: whether a message after `since` is retained (undefined: no answer). */
  | { type: 'checked'; conn: number; channel?: string | undefined; since: string; behind: boolean | undefined }
  | { type: 'opened'; conn: number }
  /** Something arrived that is not a message: bytes, a keep-alive, a WebSocket control frame. */
  | { type: 'alive'; conn: number }
  | { type: 'frame'; conn: number; frame: ServerFrame }
  | { type: 'item'; conn: number; item: StreamItem }
  /** An SSE block with only an id: the position. */
  | { type: 'position'; conn: number; id: string }
  | { type: 'polled'; conn: number; body: PollBody }
  /**
   * The connection is over. `status`: the HTTP status of a refused answer; `refused`: it failed
   * before it opened without one (an EventSource's failure); `code`: a WebSocket's close code;
   * `channel`: the channel a refusal names; `limit`: the subscriptions per connection a 400 names.
   */
  | {
      type: 'ended';
      conn: number;
      status?: number | undefined;
      refused?: boolean;
      code?: number | undefined;
      detail?: string | undefined;
      channel?: string | undefined;
      limit?: number | undefined;
    }
  /** The testing hook: drop the connection (of a subscription, or every one) as a network would. */
  | { type: 'cut'; sub?: number | undefined }
  | { type: 'publish'; ref: number; channel: string; data: unknown; token?: string | undefined; skipSelf?: boolean | undefined };

export type Effect =
  /**
   * Open a connection: a WebSocket (its subscribes follow as `send`), a subscription's HTTP request
   * (`channel`, `since`), or a stream of several channels (`channels`, each with its position).
   */
  | {
      type: 'open';
      conn: number;
      transport: TransportName;
      channel?: string;
      since?: string | undefined;
      channels?: StreamChannel[];
      token?: string | undefined;
      presenceEvents?: true;
    }
  | { type: 'send'; conn: number; text: string }
  /** Close the connection and ignore anything it still delivers. */
  | { type: 'drop'; conn: number }
  | { type: 'fetch-token'; sub: number }
  /** Ask the history for the channel's last id. */
  | { type: 'locate'; sub: number; channel: string; token: string | undefined }
  /** Ask the history whether a message after `since` is retained. */
  | { type: 'check'; conn: number; channel: string; since: string; token: string | undefined }
  | { type: 'message'; sub: number; message: Envelope }
  | { type: 'reset'; sub: number; reset: ContinuityReset }
  /** A member entered or left the channel (subscriptions that asked for member events). */
  | { type: 'presence'; sub: number; event: PresenceEvent }
  | { type: 'state'; sub: number; state: SubscriptionStateName; transport: TransportName }
  | { type: 'recovering'; sub: number; reason: RecoveryReason; position: string | undefined; detail: string | undefined }
  | { type: 'ready'; sub: number }
  /** The subscription ended for good. */
  | { type: 'fail'; sub: number; code: string; message: string }
  | { type: 'published'; ref: number; id: string }
  | { type: 'publish-failed'; ref: number; code: string; message: string };

export interface MachineState {
  readonly settings: MachineSettings;
  readonly subs: Map<number, SubRecord>;
  readonly conns: Map<number, ConnRecord>;
  /** Token records shared by subscriptions given the same token, by the driver's key. */
  readonly tokens: Map<number | string, TokenRecord>;
  readonly ladder: Ladder;
  /** Subscriptions wait for a stream (see openStreams). */
  streamsDue: boolean;
  /** The subscriptions per connection streams are packed under (lowered when the origin says fewer). */
  streamCap: number;
  nextConn: number;
  closed: boolean;
  /** The earliest time a tick may have something to do (the driver keeps one timer for it). */
  wakeAt: number;
  /** The step in progress: its time and where its effects go. */
  now: number;
  out: Effect[];
}

/** Errors that answer a publish only (others name a channel a subscribe may be waiting on too). */
const PUBLISH_ERRORS = ['publish_forbidden', 'invalid_message', 'message_too_large', 'id_conflict', 'publish_failed'];

export function createMachine(settings: MachineSettings): MachineState {
  return {
    settings,
    subs: new Map(),
    conns: new Map(),
    tokens: new Map(),
    ladder: createLadder(),
    streamsDue: false,
    streamCap: STREAM_SUBSCRIPTION_CAP,
    nextConn: 1,
    closed: false,
    wakeAt: Infinity,
    now: 0,
    out: [],
  };
}

/** Applies one event at time `now`, appending its effects to `out`. */
export function step(s: MachineState, e: MachineEvent, now: number, out: Effect[]): void {
  if (s.closed) return;
  s.now = now;
  s.out = out;
  apply(s, e);
  // Subscribes and unsubscribes come in bursts (an application subscribing to several channels at
  // once): their streams open at the next tick, which the driver runs once this turn's events are in.
  if (s.streamsDue && e.type !== 'subscribe' && e.type !== 'unsubscribe') openStreams(s);
}

function apply(s: MachineState, e: MachineEvent): void {
  switch (e.type) {
    case 'subscribe':
      return subscribe(s, e);
    case 'unsubscribe': {
      const sub = s.subs.get(e.sub);
      if (sub) {
        detach(s, sub, true);
        close(s, sub);
      }
      return;
    }
    case 'close':
      for (const conn of [...s.conns.values()]) dropWithPublishes(s, conn, 'the client was closed');
      for (const sub of [...s.subs.values()]) close(s, sub);
      s.closed = true;
      return;
    case 'tick':
      return tick(s);
    case 'token':
      return tokenArrived(s, e.sub, e.token);
    case 'token-failed': {
      const t = fetchedRecord(s, e.sub);
      if (!t) return;
      t.fetching = false;
      // Still valid: try again a little later; subscriptions waiting for one connect again later.
      const waiting = usersOf(s, t).filter((sub) => sub.phase === 'token');
      if (waiting.length === 0) t.refreshAt = s.now + backoffDelayMs(s.settings.backoff, 1, s.settings.random());
      for (const sub of waiting) retry(s, sub, 'token-refused', failedDelay(s, sub), `the token function failed: ${e.detail}`);
      wake(s, t.refreshAt);
      return;
    }
    case 'located': {
      const sub = s.subs.get(e.sub);
      if (!sub || sub.phase !== 'locate') return;
      if (e.status === 401 || e.status === 403) return tokenRefused(s, sub, refusal(s, sub), e.detail ?? `HTTP ${e.status}`);
      if (e.lastId === undefined) return retry(s, sub, 'cut', failedDelay(s, sub), e.detail);
      sub.position ??= e.lastId;
      return advance(s, sub);
    }
    case 'checked': {
      const conn = s.conns.get(e.conn);
      if (!conn) return;
      conn.checking--;
      const sub = e.channel === undefined ? conn.subs[0] : subOn(conn, e.channel);
      if (e.behind && sub?.position === e.since) lose(s, conn, 'history-behind', `the history holds messages after ${e.since} on ${sub.channel}`);
      return;
    }
    case 'opened':
      return opened(s, e.conn);
    case 'alive': {
      const conn = s.conns.get(e.conn);
      if (conn) conn.lastByteAt = s.now;
      return;
    }
    case 'frame':
      return frame(s, e.conn, e.frame);
    case 'item':
      return item(s, e.conn, e.item);
    case 'position': {
      const conn = s.conns.get(e.conn);
      if (conn) conn.lastByteAt = s.now;
      // A stream of several channels names each one's position in a position event; its id-only block
      // holds the whole stream's position, for EventSource's own reconnect. (A stream that loses a
      // channel reopens at once: one with several subscriptions is one of several channels.)
      const sub = conn?.subs.length === 1 ? conn.subs[0] : undefined;
      if (!conn || !sub) return;
      sub.position = positionAfter(sub.position, e.id);
      if (conn.open) goLive(s, sub);
      return;
    }
    case 'polled':
      return polled(s, e.conn, e.body);
    case 'ended':
      return ended(s, e);
    case 'cut': {
      const conn = e.sub === undefined ? undefined : s.subs.get(e.sub)?.conn;
      const conns = e.sub === undefined ? [...s.conns.values()] : conn ? [conn] : [];
      for (const c of conns) lose(s, c, 'cut', 'cut by the testing hook');
      return;
    }
    case 'publish':
      return publish(s, e);
  }
}

function wake(s: MachineState, at: number): void {
  if (at < s.wakeAt) s.wakeAt = at;
}

function currentTransport(s: MachineState): TransportName {
  return s.settings.transports[s.ladder.index]!;
}

function setState(s: MachineState, sub: SubRecord, state: SubscriptionStateName): void {
  const transport = sub.conn?.transport ?? currentTransport(s);
  if (sub.state === state && sub.transport === transport) return;
  sub.state = state;
  sub.transport = transport;
  s.out.push({ type: 'state', sub: sub.id, state, transport });
}

function subscribe(s: MachineState, e: Extract<MachineEvent, { type: 'subscribe' }>): void {
  const source: TokenSource = e.tokenFunction ? 'function' : e.token !== undefined ? 'fixed' : 'none';
  let token = e.tokenKey === undefined ? undefined : s.tokens.get(e.tokenKey);
  if (!token) {
    token = { source, key: e.tokenKey, value: e.token, expMs: e.token === undefined ? undefined : tokenExpiryMs(e.token), refreshAt: Infinity, fetching: false, fetchedBy: undefined };
    if (e.tokenKey !== undefined) s.tokens.set(e.tokenKey, token);
  }
  const sub: SubRecord = {
    id: e.sub,
    channel: e.channel,
    position: e.since,
    phase: 'token',
    conn: undefined,
    retryAt: 0,
    failures: 0,
    liveSince: 0,
    ready: false,
    connects: 0,
    awaiting: false,
    sentAt: 0,
    sentSeq: 0,
    state: undefined,
    transport: undefined,
    token,
    refusals: 0,
    stats: { messages: 0, duplicates: 0, resets: 0, reconnects: 0, connectFailures: 0, recoveries: {} },
    ...(e.presence ? { presence: e.presence } : {}),
  };
  s.subs.set(sub.id, sub);
  setState(s, sub, 'connecting');
  advance(s, sub);
}

/** A subscription off any connection takes its next step: a token, its position, a connection. */
function advance(s: MachineState, sub: SubRecord): void {
  const t = sub.token;
  const expired = t.expMs !== undefined && t.expMs <= s.now;
  if (t.source === 'fixed' && expired) return tokenRefused(s, sub, 'token_expired', `the subscribe token for ${sub.channel} has expired`);
  if (t.source === 'function' && (t.value === undefined || expired)) {
    sub.phase = 'token';
    return fetchToken(s, sub);
  }
  const transport = currentTransport(s);
  if (sub.position === undefined && s.settings.locateFirst.includes(transport)) {
    sub.phase = 'locate';
    s.out.push({ type: 'locate', sub: sub.id, channel: sub.channel, token: t.value });
    return;
  }
  connect(s, sub, transport, false);
}

/** Asks for a fresh token, unless a subscription sharing it asked already (its answer serves all). */
function fetchToken(s: MachineState, sub: SubRecord): void {
  if (sub.token.fetching) return;
  sub.token.fetching = true;
  sub.token.fetchedBy = sub.id;
  sub.token.refreshAt = Infinity;
  s.out.push({ type: 'fetch-token', sub: sub.id });
}

/** The token record whose fetch the subscription `id` made (it may be gone since; others share it). */
function fetchedRecord(s: MachineState, id: number): TokenRecord | undefined {
  return [...s.subs.values()].find((sub) => sub.token.fetchedBy === id)?.token;
}

function usersOf(s: MachineState, t: TokenRecord): SubRecord[] {
  return [...s.subs.values()].filter((sub) => sub.token === t);
}

/**
 * Puts the subscription on a connection: a WebSocket with room (one is opened when none has), a
 * stream of its group (opened at the end of the step: see openStreams), or its own long-poll.
 */
function connect(s: MachineState, sub: SubRecord, transport: TransportName, nextPoll: boolean): void {
  if (isStream(transport)) {
    sub.phase = 'connecting';
    setState(s, sub, sub.ready ? 'reconnecting' : 'connecting');
    return awaitStream(s, sub, transport);
  }
  if (!nextPoll && sub.connects++ > 0) sub.stats.reconnects++;
  let conn: ConnRecord | undefined;
  if (transport === 'websocket') {
    for (const c of s.conns.values()) {
      if (c.transport === 'websocket' && !c.full && !c.subs.some((o) => o.channel === sub.channel)) {
        conn = c;
        break;
      }
    }
  }
  if (conn) conn.subs.push(sub);
  else conn = openConn(s, transport, sub);
  sub.conn = conn;
  if (!nextPoll) {
    sub.phase = 'connecting';
    setState(s, sub, sub.ready ? 'reconnecting' : 'connecting');
  }
  if (transport === 'websocket' && conn.open) sendSubscribe(s, conn, sub);
}

function openConn(s: MachineState, transport: TransportName, sub?: SubRecord, members: SubRecord[] = sub ? [sub] : []): ConnRecord {
  const now = s.now;
  const conn: ConnRecord = {
    id: s.nextConn++,
    transport,
    open: false,
    startedAt: now,
    lastByteAt: now,
    lastMessageAt: now,
    probedAt: now,
    confirmed: false,
    checking: 0,
    full: false,
    subs: members,
    publishes: [],
    seq: 0,
  };
  s.conns.set(conn.id, conn);
  const open: Effect = { type: 'open', conn: conn.id, transport };
  if (transport !== 'websocket' && sub) {
    if (members.length > 1) open.channels = members.map((m) => ({ channel: m.channel, since: m.position }));
    else Object.assign(open, { channel: sub.channel, since: sub.position });
    open.token = sub.token.value;
    if (members.some((m) => m.presence?.events)) open.presenceEvents = true;
  }
  s.out.push(open);
  wake(s, now + s.settings.idleTimeoutMs);
  return conn;
}

function sendSubscribe(s: MachineState, conn: ConnRecord, sub: SubRecord): void {
  sub.awaiting = true;
  sub.sentSeq = ++conn.seq;
  sub.sentAt = s.now;
  wake(s, s.now + s.settings.subscribeTimeoutMs);
  s.out.push({
    type: 'send',
    conn: conn.id,
    text: clientFrames.subscribe(sub.channel, { since: sub.position, token: sub.token.value, presence: sub.presence?.enter, presenceEvents: sub.presence?.events }),
  });
}

function goLive(s: MachineState, sub: SubRecord): void {
  if (sub.phase !== 'live') {
    sub.phase = 'live';
    sub.liveSince = s.now;
  }
  sub.refusals = 0;
  if (!sub.ready) {
    sub.ready = true;
    s.out.push({ type: 'ready', sub: sub.id });
  }
  setState(s, sub, 'open');
}

function drop(s: MachineState, conn: ConnRecord): void {
  if (s.conns.delete(conn.id)) s.out.push({ type: 'drop', conn: conn.id });
}

function dropWithPublishes(s: MachineState, conn: ConnRecord, why: string): void {
  drop(s, conn);
  for (const p of conn.publishes.splice(0)) {
    s.out.push({ type: 'publish-failed', ref: p.ref, code: 'connection_lost', message: `${why} before the origin answered: the message may or may not have been published` });
  }
}

/**
 * Takes the subscription off its connection (a WebSocket stays for its other channels). `unsubscribe`:
 * tell the origin, which holds the channel on that WebSocket (a live subscription does: a refused or
 * failed refresh leaves it in place there).
 */
function detach(s: MachineState, sub: SubRecord, unsubscribe = sub.phase === 'live'): void {
  const conn = sub.conn;
  sub.waiting = undefined;
  if (!conn) return;
  sub.conn = undefined;
  sub.awaiting = false;
  if (conn.transport !== 'websocket') {
    // A stream: the others reopen without it (with a burst of unsubscribes, once). A long-poll has one.
    conn.subs.splice(conn.subs.indexOf(sub), 1);
    return conn.subs.length === 0 ? drop(s, conn) : regroup(s, conn);
  }
  conn.subs.splice(conn.subs.indexOf(sub), 1);
  conn.full = false;
  if (unsubscribe && conn.open) s.out.push({ type: 'send', conn: conn.id, text: clientFrames.unsubscribe(sub.channel) });
  if (conn.subs.length === 0 && conn.publishes.length === 0) drop(s, conn);
}

function close(s: MachineState, sub: SubRecord): void {
  sub.phase = 'closed';
  sub.waiting = undefined;
  s.subs.delete(sub.id);
  const t = sub.token;
  if (t.key !== undefined && usersOf(s, t).length === 0) s.tokens.delete(t.key);
  // Others waiting for the token this one was fetching: its answer still comes (see fetchedRecord).
  setState(s, sub, 'closed');
}

function fail(s: MachineState, sub: SubRecord, code: string, message: string): void {
  detach(s, sub);
  s.out.push({ type: 'fail', sub: sub.id, code, message });
  close(s, sub);
}

/** The backoff after a connection that ended: it starts over after a healthy one. */
function failedDelay(s: MachineState, sub: SubRecord): number {
  sub.failures = sub.phase === 'live' && s.now - sub.liveSince >= s.settings.healthyAfterMs ? 0 : sub.failures + 1;
  return backoffDelayMs(s.settings.backoff, sub.failures, s.settings.random());
}

/** The subscription connects again: count why, and say so. */
function recovering(s: MachineState, sub: SubRecord, reason: RecoveryReason, detail?: string): void {
  sub.stats.recoveries[reason] = (sub.stats.recoveries[reason] ?? 0) + 1;
  s.out.push({ type: 'recovering', sub: sub.id, reason, position: sub.position, detail });
}

/** The subscription is off its connection: count why, and connect again after `delayMs`. */
function retry(s: MachineState, sub: SubRecord, reason: RecoveryReason, delayMs: number, detail?: string): void {
  recovering(s, sub, reason, detail);
  sub.phase = 'backoff';
  sub.retryAt = s.now + delayMs;
  setState(s, sub, sub.ready ? 'reconnecting' : 'connecting');
  if (delayMs <= 0) advance(s, sub);
  else wake(s, sub.retryAt);
}

/**
 * The connection is over (it ended, failed, or we leave it: a gap, a silence, a fresh token). Nothing
 * it still delivers counts (the driver drops it): every subscription on it connects again from its
 * position, on a new connection, so nothing of the old one's backlog interleaves with the replay.
 */
function lose(s: MachineState, conn: ConnRecord, reason: RecoveryReason, detail?: string): void {
  dropWithPublishes(s, conn, 'the connection ended');
  const failed = reason === 'cut' || reason === 'silent';
  const st = s.settings;
  const fell = failed && !conn.confirmed && ladderFailed(s.ladder, st.transports.indexOf(conn.transport), st.transports.length, st, s.now);
  const immediate = reason === 'token-refresh' || reason === 'upgrade';
  // One delay for all of them (each still counts its failures): they come back together, onto one
  // connection again, not one by one (a stream would reopen for each).
  let delay: number | undefined;
  for (const sub of conn.subs) {
    sub.conn = undefined;
    sub.awaiting = false;
    if (!conn.open) sub.stats.connectFailures++;
    const own = immediate ? 0 : failedDelay(s, sub);
    delay ??= own;
    retry(s, sub, fell ? 'fallback' : reason, delay, fell ? `${conn.transport} could not connect: ${detail}` : detail);
  }
  wake(s, s.ladder.upgradeAt);
}

const isStream = (transport: TransportName): transport is 'sse' | 'stream' => transport === 'sse' || transport === 'stream';

/** The stream group of a subscription: its token (the same record when given the same token), or none. */
const groupOf = (sub: SubRecord): TokenRecord | 'none' => (sub.token.source === 'none' ? 'none' : sub.token);

/** The subscription waits for a stream of its group; openStreams puts it on one. */
function awaitStream(s: MachineState, sub: SubRecord, transport: TransportName): void {
  sub.conn = undefined;
  sub.waiting = { via: transport };
  s.streamsDue = true;
  wake(s, s.now);
}

/**
 * A stream whose channels change: it is left, and its subscriptions (their state and phase kept)
 * wait to be put on a stream again, from their positions, with whoever joins.
 */
function regroup(s: MachineState, conn: ConnRecord): void {
  drop(s, conn);
  for (const sub of conn.subs) {
    recovering(s, sub, 'regroup');
    awaitStream(s, sub, conn.transport);
  }
}

/**
 * Puts the subscriptions waiting for a stream on one, per group and transport: first into a stream
 * of their group with room (which reopens with them), then onto new ones.
 */
function openStreams(s: MachineState): void {
  s.streamsDue = false;
  let waiting: SubRecord[] = [];
  for (const sub of s.subs.values()) {
    if (!sub.waiting) continue;
    const t = sub.token;
    // Its token was refused meanwhile: it gets a fresh one first.
    if (t.source === 'function' && t.value === undefined) {
      sub.waiting = undefined;
      advance(s, sub);
    } else waiting.push(sub);
  }
  while (waiting.length > 0) {
    const { via } = waiting[0]!.waiting!;
    const group = groupOf(waiting[0]!);
    const mine = waiting.filter((w) => groupOf(w) === group && w.waiting!.via === via);
    waiting = waiting.filter((w) => !mine.includes(w));
    packStreams(s, via, group, mine);
  }
}

function packStreams(s: MachineState, transport: TransportName, group: TokenRecord | 'none', waiting: SubRecord[]): void {
  const take = (members: SubRecord[]): SubRecord[] => {
    const taken: SubRecord[] = [];
    for (const sub of waiting) if (canJoinStream([...members, ...taken], sub, group !== 'none', s.streamCap)) taken.push(sub);
    waiting = waiting.filter((sub) => !taken.includes(sub));
    return taken;
  };
  for (const conn of [...s.conns.values()]) {
    if (conn.transport !== transport || conn.group !== group || !waiting.length) continue;
    const taken = take(conn.subs);
    if (!taken.length) continue;
    drop(s, conn);
    for (const sub of conn.subs) recovering(s, sub, 'regroup');
    openStream(s, transport, group, [...conn.subs, ...taken]);
  }
  while (waiting.length > 0) openStream(s, transport, group, take([]));
}

function openStream(s: MachineState, transport: TransportName, group: TokenRecord | 'none', members: SubRecord[]): void {
  const conn = openConn(s, transport, members[0], members);
  conn.group = group;
  for (const sub of members) {
    sub.conn = conn;
    sub.waiting = undefined;
    if (sub.connects++ > 0) sub.stats.reconnects++;
  }
}

function tokenArrived(s: MachineState, id: number, token: string): void {
  const t = fetchedRecord(s, id);
  if (!t) return;
  t.fetching = false;
  t.value = token;
  t.expMs = tokenExpiryMs(token);
  const users = usersOf(s, t);
  const sub = users[0];
  if (sub && t.expMs !== undefined && t.expMs <= s.now) return tokenRefused(s, sub, 'token_expired', `the token function returned an expired token for ${sub.channel}`);
  t.refreshAt = tokenRefreshAt(s.now, t.expMs, s.settings.tokenLeadMs);
  wake(s, t.refreshAt);
  for (const sub of users) {
    const conn = sub.conn;
    if (sub.phase === 'token') advance(s, sub);
    // A WebSocket takes the fresh token in place (the origin answers `refreshed`); a stream reconnects
    // from its position with it (once for all its channels). Not open yet or in backoff: the next
    // connect takes it.
    else if (conn?.open && conn.transport === 'websocket') sendSubscribe(s, conn, sub);
    else if (conn?.open) lose(s, conn, 'token-refresh');
  }
}

/** What a refusal (HTTP 403) means: the token's `exp` passed, or the origin does not take it. */
function refusal(s: MachineState, sub: SubRecord): 'token_expired' | 'forbidden' {
  return sub.token.expMs !== undefined && sub.token.expMs <= s.now ? 'token_expired' : 'forbidden';
}

/** The origin refused the token, or it expired: a fresh one when a function gives them, else the end. */
function tokenRefused(s: MachineState, sub: SubRecord, code: 'forbidden' | 'token_expired', message: string): void {
  const t = sub.token;
  if (t.source !== 'function' || ++sub.refusals > 2) {
    const hint = t.source === 'fixed' ? ' (the token is a fixed string: give a function that returns a fresh one to keep the subscription going)' : '';
    return fail(s, sub, code, message + hint);
  }
  detach(s, sub);
  t.value = undefined;
  recovering(s, sub, 'token-refused', message);
  sub.phase = 'token';
  setState(s, sub, sub.ready ? 'reconnecting' : 'connecting');
  fetchToken(s, sub);
}

function opened(s: MachineState, id: number): void {
  const conn = s.conns.get(id);
  if (!conn || conn.open) return;
  conn.open = true;
  conn.lastByteAt = conn.lastMessageAt = conn.probedAt = s.now;
  wake(s, s.now + s.settings.silenceCheckMs);
  if (conn.transport === 'websocket') {
    for (const sub of conn.subs) sendSubscribe(s, conn, sub);
    for (const p of conn.publishes) s.out.push({ type: 'send', conn: conn.id, text: p.text });
    return;
  }
  // A stream answered 200 with its media type; a long-poll is sent (it is confirmed by its answer).
  if (conn.transport !== 'poll') confirm(s, conn);
  for (const sub of conn.subs) if (sub.position !== undefined) goLive(s, sub);
}

function confirm(s: MachineState, conn: ConnRecord): void {
  if (conn.confirmed) return;
  conn.confirmed = true;
  ladderWorked(s.ladder, s.settings.transports.indexOf(conn.transport));
}

function deliver(s: MachineState, sub: SubRecord, message: Envelope, judgement: Judgement): void {
  if (judgement === 'duplicate') {
    sub.stats.duplicates++;
    return;
  }
  if (judgement === 'deliver') sub.position = message.id;
  sub.stats.messages++;
  s.out.push({ type: 'message', sub: sub.id, message });
}

function reset(s: MachineState, sub: SubRecord, notice: ContinuityReset): void {
  sub.stats.resets++;
  sub.position = notice.after;
  s.out.push({ type: 'reset', sub: sub.id, reset: notice });
}

function subOn(conn: ConnRecord, channel: string): SubRecord | undefined {
  for (const sub of conn.subs) if (sub.channel === channel) return sub;
  return undefined;
}

function frame(s: MachineState, id: number, f: ServerFrame): void {
  const conn = s.conns.get(id);
  if (!conn) return;
  conn.lastByteAt = conn.lastMessageAt = s.now;
  confirm(s, conn);
  switch (f.type) {
    case 'message': {
      const sub = subOn(conn, f.channel);
      // Not subscribed yet: a stored message belongs to the replay that `subscribed` starts.
      if (!sub || (sub.phase !== 'live' && f.id !== undefined)) return;
      if (sub.own) sub.position = passOwn(sub.own, sub.position);
      const judgement = judgeMessage(sub.position, f.id, f.prev);
      if (judgement === 'gap') return lose(s, conn, 'gap', `${f.channel}: ${f.id} follows ${f.prev}, the position is ${sub.position}`);
      return deliver(s, sub, envelopeOf(f), judgement);
    }
    case 'subscribed': {
      const sub = subOn(conn, f.channel);
      if (!sub) return;
      sub.awaiting = false;
      if (f.reset) reset(s, sub, f.reset);
      sub.position = positionAfter(sub.position, f.lastId, f.reset);
      return goLive(s, sub);
    }
    case 'refreshed': {
      const sub = subOn(conn, f.channel);
      if (sub) sub.awaiting = false;
      return;
    }
    case 'pong':
      // Sent only when silent: a channel ahead of us means the proxy stopped sending this connection
      // its messages (Pushpin 1.36 goes on answering pings after a buffer overflow).
      for (const sub of conn.subs) {
        if (sub.own) sub.position = passOwn(sub.own, sub.position);
        const last = f.lastIds?.[sub.channel];
        if (sub.phase === 'live' && last !== undefined && sub.position !== undefined && compareMessageIds(last, sub.position) > 0) {
          return lose(s, conn, 'pong-behind', `${sub.channel} is at ${last}, the position is ${sub.position}`);
        }
      }
      return;
    case 'published': {
      // Published with skipSelf: it will not come back on this connection; its subscription to the
      // channel here moves through it.
      const sub = f.prev === undefined ? undefined : subOn(conn, f.channel);
      if (sub && f.prev !== undefined) {
        recordOwn((sub.own ??= new Map()), f.prev, f.id);
        sub.position = passOwn(sub.own, sub.position);
      }
      return settlePublish(s, conn, f.channel, { type: 'published', ref: 0, id: f.id });
    }
    case 'presence': {
      const sub = subOn(conn, f.channel);
      if (sub?.presence?.events) s.out.push({ type: 'presence', sub: sub.id, event: presenceEventOfFrame(f) });
      return;
    }
    case 'error':
      return wsError(s, conn, f);
  }
}

function wsError(s: MachineState, conn: ConnRecord, f: Extract<ServerFrame, { type: 'error' }>): void {
  const { code, message, channel } = f;
  if (channel === undefined) {
    // Not named: an origin failure while handling some frame. Subscribes still waiting are repeated.
    if (code === 'internal') for (const sub of [...conn.subs]) if (sub.awaiting) retrySubscribe(s, sub, message);
    return;
  }
  const pub = conn.publishes.find((p) => p.channel === channel);
  const sub = subOn(conn, channel);
  // The frame answers whichever of a publish and a subscribe on the channel was sent first.
  if (pub && (PUBLISH_ERRORS.includes(code) || !sub?.awaiting || pub.seq < sub.sentSeq)) {
    return settlePublish(s, conn, channel, { type: 'publish-failed', ref: 0, code, message });
  }
  if (!sub) return;
  sub.awaiting = false;
  if ((RETRYABLE_SUBSCRIBE_ERRORS as readonly string[]).includes(code)) return retrySubscribe(s, sub, message);
  if (code === 'too_many_subscriptions') {
    // The origin counts channels (a private channel's expiry channel too): no fixed limit here.
    if (conn.subs.length === 1) return fail(s, sub, code, message);
    detach(s, sub, false);
    conn.full = true;
    return retry(s, sub, 'overflow', 0, message);
  }
  if (code === 'forbidden' || code === 'token_expired' || code === 'invalid_token') {
    return tokenRefused(s, sub, code === 'token_expired' ? 'token_expired' : 'forbidden', message);
  }
  fail(s, sub, code, message);
}

function presenceEventOfFrame(f: Extract<ServerFrame, { type: 'presence' }>): PresenceEvent {
  const { type: _type, ...event } = f;
  return event;
}

function retrySubscribe(s: MachineState, sub: SubRecord, detail: string): void {
  detach(s, sub);
  retry(s, sub, 'busy', failedDelay(s, sub), detail);
}

function item(s: MachineState, id: number, it: StreamItem): void {
  const conn = s.conns.get(id);
  if (!conn) return;
  conn.lastByteAt = s.now;
  // The channel it is about (on a stream of several, each names its own).
  const channel = it.kind === 'message' ? it.message.channel : it.kind === 'presence' ? it.event.channel : 'channel' in it ? it.channel : '';
  const sub = subOn(conn, channel);
  if (!sub) return;
  if (it.kind === 'position') {
    sub.position = positionAfter(sub.position, it.lastId);
    if (conn.open) goLive(s, sub);
  } else if (it.kind === 'message') {
    conn.lastMessageAt = s.now;
    // The proxy holds streams without a sequence check; each message names what it follows, and the
    // gap rule applies as on a WebSocket (leave the connection, come back from the position).
    const judgement = judgeMessage(sub.position, it.message.id, it.prev);
    if (judgement === 'gap') return lose(s, conn, 'gap', `${sub.channel}: ${it.message.id} follows ${it.prev}, the position is ${sub.position}`);
    deliver(s, sub, it.message, judgement);
    if (sub.position !== undefined && conn.open) goLive(s, sub);
  } else if (it.kind === 'reset') reset(s, sub, it.reset);
  else if (it.kind === 'expired') tokenRefused(s, sub, 'token_expired', `the subscribe token for ${sub.channel} expired`);
  else if (it.kind === 'presence' && sub.presence?.events) s.out.push({ type: 'presence', sub: sub.id, event: it.event });
}

function polled(s: MachineState, id: number, body: PollBody): void {
  const conn = s.conns.get(id);
  const sub = conn?.subs[0];
  if (!conn || !sub) return;
  drop(s, conn);
  sub.conn = undefined;
  confirm(s, conn);
  if (body.reset) reset(s, sub, body.reset);
  for (const m of body.messages) deliver(s, sub, m, judgeMessage(sub.position, m.id, undefined));
  // A live-only answer has no lastId: the position stays.
  if (body.lastId !== undefined) sub.position = positionAfter(sub.position, body.lastId);
  sub.failures = 0;
  connect(s, sub, currentTransport(s), true);
}

function ended(s: MachineState, e: Extract<MachineEvent, { type: 'ended' }>): void {
  const conn = s.conns.get(e.conn);
  if (!conn) return;
  const http = conn.transport !== 'websocket';
  const what = e.detail ?? `HTTP ${e.status}`;
  if (http && (e.status === 401 || e.status === 403)) {
    // A refusal of a stream of several names its channel: that subscription gets a fresh token (or
    // ends), and leaving the stream puts the others on one again at once (see detach).
    const named = e.channel === undefined ? undefined : subOn(conn, e.channel);
    for (const sub of named ? [named] : [...conn.subs]) tokenRefused(s, sub, refusal(s, sub), what);
    return;
  }
  if (http && e.status === 400) {
    // Fewer subscriptions per connection than planned: packed again under the origin's limit.
    if ((e.limit ?? Infinity) < s.streamCap && conn.subs.length > 1) {
      s.streamCap = e.limit!;
      return regroup(s, conn);
    }
    for (const sub of [...conn.subs]) fail(s, sub, 'bad_request', what);
    return;
  }
  // An EventSource says nothing about why it failed: an expired token is the one cause we can tell.
  // A WebSocket closed for an expired token names each channel in an error frame first; should one
  // be missing, the token's exp tells. (A stream that loses a subscription reopens without it.)
  if (e.code === CLOSE_CODES.tokenExpired || (http && e.refused)) {
    for (const sub of [...conn.subs]) {
      if (sub.token.expMs !== undefined && sub.token.expMs <= s.now + (http ? 0 : 2000)) tokenRefused(s, sub, 'token_expired', `the subscribe token for ${sub.channel} expired`);
    }
  }
  if (s.conns.has(conn.id)) lose(s, conn, 'cut', e.detail ?? (e.code !== undefined ? `closed with ${e.code}` : 'the connection ended'));
}

function tick(s: MachineState): void {
  const st = s.settings;
  const now = s.now;
  s.wakeAt = Infinity;
  if (ladderUpgrade(s.ladder, st, now)) {
    const best = currentTransport(s);
    for (const conn of [...s.conns.values()]) if (conn.transport !== best && conn.subs.length > 0) lose(s, conn, 'upgrade', `trying ${best} again`);
  }
  wake(s, s.ladder.upgradeAt);
  for (const sub of s.subs.values()) {
    if (sub.phase === 'backoff') {
      if (sub.retryAt <= now) advance(s, sub);
      else wake(s, sub.retryAt);
    }
    const t = sub.token;
    if (t.source === 'function' && !t.fetching && sub.phase !== 'token' && sub.phase !== 'closed') {
      if (t.refreshAt <= now) fetchToken(s, sub);
      else wake(s, t.refreshAt);
    }
  }
  for (const conn of s.conns.values()) {
    for (const p of [...conn.publishes]) {
      if (p.at + st.publishTimeoutMs <= now) settlePublish(s, conn, p.channel, { type: 'publish-failed', ref: 0, code: 'timeout', message: `no answer to the publish within ${st.publishTimeoutMs} ms` });
      else wake(s, p.at + st.publishTimeoutMs);
    }
    // Its last publish timed out and nothing else holds it: closed.
    if (!s.conns.has(conn.id)) continue;
    if (!conn.open) {
      if (now - conn.startedAt >= st.idleTimeoutMs) lose(s, conn, 'silent', `no answer within ${st.idleTimeoutMs} ms`);
      else wake(s, conn.startedAt + st.idleTimeoutMs);
      continue;
    }
    const unanswered = conn.subs.find((sub) => sub.awaiting && sub.sentAt + st.subscribeTimeoutMs <= now);
    if (unanswered) {
      lose(s, conn, 'silent', `no answer to the subscribe to ${unanswered.channel} within ${st.subscribeTimeoutMs} ms`);
      continue;
    }
    for (const sub of conn.subs) if (sub.awaiting) wake(s, sub.sentAt + st.subscribeTimeoutMs);
    const visible = !st.keepAliveHidden.includes(conn.transport);
    const action = livenessAction(conn, now, st.idleTimeoutMs, st.silenceCheckMs, visible);
    if (action === 'dead') {
      lose(s, conn, 'silent', `nothing arrived for ${st.idleTimeoutMs} ms`);
      continue;
    }
    if (action === 'probe') probe(s, conn);
    wake(s, nextLivenessCheck(conn, st.idleTimeoutMs, st.silenceCheckMs, visible));
  }
}

/** A silent connection: a WebSocket pings (its pong names each channel's last id); a stream asks the history. */
function probe(s: MachineState, conn: ConnRecord): void {
  conn.probedAt = s.now;
  if (conn.transport === 'websocket') {
    s.out.push({ type: 'send', conn: conn.id, text: clientFrames.ping() });
    return;
  }
  if (conn.checking > 0) return;
  // Every channel of a stream: a message the proxy dropped last on one shows on no other.
  for (const sub of conn.subs) {
    if (sub.phase !== 'live' || sub.position === undefined) continue;
    conn.checking++;
    s.out.push({ type: 'check', conn: conn.id, channel: sub.channel, since: sub.position, token: sub.token.value });
  }
}

function publish(s: MachineState, e: Extract<MachineEvent, { type: 'publish' }>): void {
  let conn: ConnRecord | undefined;
  for (const c of s.conns.values()) {
    if (c.transport !== 'websocket') continue;
    conn = c;
    if (c.open) break;
  }
  conn ??= openConn(s, 'websocket');
  const text = clientFrames.publish(e.channel, e.data, { token: e.token, skipSelf: e.skipSelf });
  const p: PendingPublish = { ref: e.ref, channel: e.channel, text, at: s.now, seq: ++conn.seq };
  conn.publishes.push(p);
  if (conn.open) s.out.push({ type: 'send', conn: conn.id, text: p.text });
  wake(s, s.now + s.settings.publishTimeoutMs);
}

/** The oldest publish on the channel is answered (`result.ref` is filled in). */
function settlePublish(
  s: MachineState,
  conn: ConnRecord,
  channel: string,
  result: Extract<Effect, { type: 'published' }> | Extract<Effect, { type: 'publish-failed' }>,
): void {
  const i = conn.publishes.findIndex((p) => p.channel === channel);
  if (i < 0) return;
  result.ref = conn.publishes.splice(i, 1)[0]!.ref;
  s.out.push(result);
  if (conn.subs.length === 0 && conn.publishes.length === 0) drop(s, conn);
}
