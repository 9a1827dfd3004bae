// The WebSocket session: what the origin answers to one WebSocket-over-HTTP request, as a function of
// the request's events and the connection's state (from proxy meta). The history and the proxy are
// reached only through `ports`, so the route stays a thin binding and this is tested on its own.
import type { ChannelAccess } from '../access/channelAccess.ts';
import { HistoryUnavailableError, type GateOutcome } from '../history/historyStore.ts';
import type { PublishedMessage } from '../publishing/messagePublisher.ts';
import { describePublishFailure } from '../publishing/publishFailure.ts';
import { validatePublishInput, type PublishInput } from '../publishing/publishInput.ts';
import { expiryChannelFor, liveChannelFor, presenceEventsChannelFor } from '../channels/gripChannels.ts';
import { closeEvent, closeStatusOf, clientTextEvent, gripControlEvent, type WebSocketEvent } from './websocketEvents.ts';
import { CLOSE_CODES, closeReplyCode, isPresenceClientId, isProtocolError, parseClientFrame, serverFrames, type WsProtocolError } from '../../protocol/index.ts';
import { distinctMembers, leaseOf, leasedChannels, planLeases, prunePresence, type WsPresencePort } from './wsPresence.ts';
import {
  abandonSubscribe,
  ANSWER_CATCH_UP_BUDGET_BYTES,
  barrierControls,
  CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS,
  CATCH_UP_KEEP_ALIVE_SECONDS,
  MIN_ROUND_ROOM_BYTES,
  mayHaveLapsed,
  progressed,
  renewSkipping,
  resendBarrier,
  beginSubscribe,
  type BarrierPayloads,
  catchUpRound,
  subscribeControl,
  type SubscribeHistory,
  type SubscribeLimits,
} from './wsSubscribe.ts';
import {
  EMPTY_SESSION_STATE,
  MAX_PRESENCE_MEMBERS_PER_CONNECTION,
  type PendingSubscribe,
  type SealStatus,
  type WsGrant,
  type WsPresenceEntry,
  type WsSessionState,
} from './wsSessionState.ts';

export interface WsSessionObserver {
  event?(name: string): void;
  opened?(): void;
  replayed?(count: number): void;
  /** A subscribe caught up and went live after `rounds` catch-up rounds (`gated`: appends were held). */
  caughtUp?(channel: string, rounds: number, gated: boolean): void;
  /** A subscribe's barrier had no pong in time and was sent again. */
  barrierResent?(channel: string): void;
  published?(): void;
  publishFailed?(kind: string, error: unknown): void;
  /** A subscribe or publish refused on a private channel. */
  refused?(reason: string): void;
  /** The connection was closed because a subscription's token expired. */
  expired?(): void;
  /** The connection's meta did not carry a seal that verifies: forged, or sealed under another key. */
  unsealed?(): void;
  /** A subscribe asked to hold its channel's appends for a round (see HistoryStore.gateAppends). */
  gate?(outcome: GateOutcome): void;
  /**
   * A subscribe's presence was refused (`not-member`: a public channel or a token without `sub`;
   * `members`: the connection is in presence as too many members; `full`: the channel is full), or a
   * subscription could not be counted (`uncounted`: full).
   */
  presenceRefused?(reason: 'not-member' | 'members' | 'full' | 'uncounted'): void;
  /** The presence store could not be reached (leases are renewed at a later request, or lapse). */
  presenceFailed?(error: unknown): void;
  failed?(error: unknown): void;
}

export interface WsSessionPorts {
  history: SubscribeHistory;
  /** Stores and publishes a client's message; undefined when clients may not publish. */
  publish: ((input: PublishInput) => Promise<PublishedMessage>) | undefined;
  /** Who may subscribe and publish to private channels. */
  access: ChannelAccess;
  /** This connection's barrier pings (sealed: a client cannot answer one it was not sent). */
  barriers: BarrierPayloads;
  /**
   * Makes sure the connections holding a grant until `exp` are closed at `exp` (see
   * access/expiryCloser.ts); `subscribing`: this answer subscribes the connection to its channel.
   */
  scheduleExpiry?(exp: number, subscribing: boolean): void;
  /** Occupancy and presence (see wsPresence.ts); undefined: not counted. */
  presence?: WsPresencePort;
  newUser(): string;
  now(): number;
  observe?: WsSessionObserver;
}

export interface WsSessionOptions {
  maxSubscriptions: number;
  limits: SubscribeLimits;
  /** Pushpin sends an unsolicited pong after this many idle seconds (clients answer nothing). */
  keepAliveSeconds: number;
  /** How often a connection holding token grants calls the origin when idle (default GRANT_KEEP_ALIVE_SECONDS). */
  grantKeepAliveSeconds?: number;
}

export interface WsSessionResult {
  out: WebSocketEvent[];
  state: WsSessionState;
  /**
   * The Keep-Alive-Interval to ask of the proxy: while the connection holds grants, presence leases or
   * a subscribe in progress, it calls the origin at least this often when idle, so an expiry is caught
   * even when the close at `exp` was lost (an origin restart), leases are renewed, and a catch-up whose
   * pong went missing goes on (recoverStalled); 0 turns that off again. Undefined: no change.
   */
  keepAliveIntervalSeconds?: number;
}

/** How often a connection with token grants calls the origin when idle, by default (Pushpin's minimum is 20 s). */
export const GRANT_KEEP_ALIVE_SECONDS = 120;

class Session {
  readonly out: WebSocketEvent[] = [];
  closed = false;
  /** Set when this answer needs a barrier (a subscribe began, or a catch-up round was sent). */
  barrier: number | undefined;
  /** Bytes of catch-up frames in this answer so far (see ANSWER_CATCH_UP_BUDGET_BYTES). */
  private catchUpBytes = 0;
  /** Presence leases taken in this request (released at its end if the subscribe did not hold). */
  readonly touched: Array<{ channel: string; user: string }> = [];
  /** Channels whose lease was asked for in this request (taken or refused): not renewed again in it. */
  private readonly asked = new Set<string>();

  constructor(
    public state: WsSessionState,
    private readonly ports: WsSessionPorts,
    private readonly options: WsSessionOptions,
  ) {}

  send(frame: string): void {
    this.out.push(clientTextEvent(frame));
  }

  error(problem: WsProtocolError): void {
    this.send(serverFrames.error(problem));
  }

  /** The connection's filter user, created when the connection has none (it opened before this origin). */
  user(): string {
    if (this.state.user) return this.state.user;
    const user = this.ports.newUser();
    this.state = { ...this.state, user };
    this.out.push(gripControlEvent({ type: 'set-meta', name: 'user', value: user }));
    return user;
  }

  /** The barrier this answer ends with (one for everything in it). */
  private nextBarrier(): number {
    this.barrier ??= this.state.barrier + 1;
    this.state = { ...this.state, barrier: this.barrier };
    return this.barrier;
  }

  async handle(event: WebSocketEvent): Promise<void> {
    this.ports.observe?.event?.(event.type.toLowerCase());
    switch (event.type) {
      case 'OPEN':
        this.ports.observe?.opened?.();
        this.out.push({ type: 'OPEN' });
        this.out.push(clientKeepAlive(this.options.keepAliveSeconds));
        // A new connection knows nothing yet, whatever meta came with it.
        this.state = EMPTY_SESSION_STATE;
        this.user();
        return;
      case 'TEXT':
        return this.text(event.content?.toString('utf8') ?? '');
      case 'BINARY':
        this.error({ error: 'binary_unsupported', message: 'frames are JSON text; binary frames are not supported' });
        await this.end();
        this.out.push(closeEvent(CLOSE_CODES.unsupportedData, 'binary frames are not supported'));
        return;
      case 'PING':
        this.out.push(event.content === undefined ? { type: 'PONG' } : { type: 'PONG', content: event.content });
        return;
      case 'PONG': {
        const barrier = this.ports.barriers.of(event.content);
        if (barrier !== undefined) await this.confirm(barrier);
        return;
      }
      case 'CLOSE': {
        // Answer a close with a close carrying a real code.
        const { code } = closeStatusOf(event);
        await this.end();
        this.out.push(closeEvent(closeReplyCode(code)));
        return;
      }
      case 'DISCONNECT':
        await this.end();
        return;
    }
  }

  /**
   * The last id of every channel subscribed, for a pong: a client behind one of them while nothing
   * arrives was left behind (Pushpin 1.36 can stop sending a connection's published messages after
   * its buffer overflowed, while it keeps answering pings) and subscribes again with `since`. Nothing
   * when the history cannot answer: the pong itself matters more.
   */
  private async lastIdsOfSubscriptions(): Promise<Record<string, string> | undefined> {
    if (this.state.subscriptions.length === 0) return undefined;
    try {
      const reads = await Promise.all(this.state.subscriptions.map((c) => this.ports.history.read(c, undefined, 0)));
      return Object.fromEntries(this.state.subscriptions.map((c, i) => [c, reads[i]!.position.lastId]));
    } catch {
      return undefined;
    }
  }

  /** The connection is going away: undo what its subscribes in progress hold. */
  private async end(): Promise<void> {
    this.closed = true;
    const user = this.state.user;
    if (user) for (const p of this.state.pending) await abandonSubscribe(this.ports.history, p, user);
    this.state = { ...this.state, pending: [] };
  }

  private async text(text: string): Promise<void> {
    const command = parseClientFrame(text);
    if (isProtocolError(command)) {
      this.ports.observe?.event?.('invalid');
      return this.error(command);
    }
    this.ports.observe?.event?.(command.type);
    switch (command.type) {
      case 'ping':
        return this.send(serverFrames.pong(await this.lastIdsOfSubscriptions()));
      case 'subscribe':
        return this.subscribe(command.channel, command.since, command.token, command.presence === true, command.presenceEvents === true);
      case 'unsubscribe':
        return this.unsubscribe(command.channel);
      case 'publish':
        return this.publish(command.channel, command.data, command.token, command.skipSelf === true);
    }
  }

  private async subscribe(channel: string, since: string | undefined, token: string | undefined, presence: boolean, presenceEvents: boolean): Promise<void> {
    const { subscriptions, pending } = this.state;
    const held = new Set([...subscriptions, ...pending.map((p) => p.channel)]);
    const decision = await this.ports.access.authorize(channel, token);
    if (!decision.allowed) {
      this.ports.observe?.refused?.(decision.reason);
      return this.error({ error: 'forbidden', message: decision.message, channel });
    }
    let member: WsPresenceEntry | undefined;
    if (presence) {
      if (decision.kind !== 'granted' || !isPresenceClientId(decision.sub)) {
        this.ports.observe?.presenceRefused?.('not-member');
        return this.error({
          error: 'presence_refused',
          message: `presence takes a private channel and a subscribe token naming its holder (a "sub" claim of 1-128 characters); subscribe to ${channel} without "presence", or with such a token`,
          channel,
        });
      }
      member = { channel, clientId: decision.sub, ...(decision.info !== undefined ? { info: decision.info } : {}) };
      const others = (this.state.presence ?? []).filter((e) => e.channel !== channel);
      if (distinctMembers([...others, member]) > MAX_PRESENCE_MEMBERS_PER_CONNECTION) {
        this.ports.observe?.presenceRefused?.('members');
        return this.error({
          error: 'presence_refused',
          message: `a connection may be in presence as at most ${MAX_PRESENCE_MEMBERS_PER_CONNECTION} members (tokens with different "sub"); use another connection`,
          channel,
        });
      }
    }
    const events = new Set(this.state.presenceEvents ?? []);
    const wantEvents = presenceEvents && this.ports.presence !== undefined;
    if (!held.has(channel) || (wantEvents && !events.has(channel))) {
      // As the proxy counts them (Fanout: 20): every channel held, the member events of those that
      // asked for them, plus the expiry channel of the connection's token grants, if it has any (see
      // expiryControls). Past the cap the proxy would drop the subscription silently (Pushpin logs
      // "too many subscriptions").
      const expiry = this.state.grants.length > 0 || decision.kind === 'granted' ? 1 : 0;
      const eventChannels = events.size + (wantEvents && !events.has(channel) ? 1 : 0);
      if (held.size + (held.has(channel) ? 0 : 1) + eventChannels + expiry > this.options.maxSubscriptions) {
        const room = this.options.maxSubscriptions - expiry - eventChannels;
        return this.error({
          error: 'too_many_subscriptions',
          message:
            `a connection may hold ${this.options.maxSubscriptions} subscriptions${expiry ? ', one of them for the expiry of its private channels\' tokens' : ''}` +
            `${eventChannels ? `, ${eventChannels} for member events` : ''}: ` +
            `at most ${room} channels here; unsubscribe first, or open another connection`,
          channel,
        });
      }
    }
    if (decision.kind === 'granted') {
      this.setGrant({ channel, exp: decision.exp, publish: decision.publish });
      // Already held (live, or still catching up): a fresh token only moves the subscription's end
      // (and, asked again with "presence", who the connection is there).
      if (held.has(channel)) {
        if (member) await this.enterPresence(channel, member);
        this.setPresenceEvents(channel, wantEvents);
        return this.send(serverFrames.refreshed(channel, decision.exp));
      }
    }
    const user = this.user();
    if (!(await this.enterPresence(channel, member))) {
      this.dropGrantUnlessSubscribed(channel);
      return this.error({ error: 'presence_refused', message: `the presence of ${channel} is full; subscribe without "presence", or later`, channel });
    }
    const previous = pending.find((p) => p.channel === channel);
    let begun: Awaited<ReturnType<typeof beginSubscribe>>;
    try {
      if (previous?.gated) await this.ports.history.ungateAppends(channel);
      begun = await beginSubscribe(this.ports.history, channel, user, this.options.limits);
    } catch (error) {
      // Named, so the client knows which subscribe to repeat (a bare "internal" names no channel).
      this.ports.observe?.failed?.(error);
      this.dropGrantUnlessSubscribed(channel);
      if (error instanceof HistoryUnavailableError) {
        return this.error({ error: 'history_unavailable', message: `the history is unavailable; subscribe to ${channel} again in a moment`, channel });
      }
      return this.error({ error: 'subscribe_failed', message: `the subscribe to ${channel} failed; subscribe again`, channel });
    }
    if (!begun.ok) {
      this.dropGrantUnlessSubscribed(channel);
      return this.error({ error: begun.code, message: begun.message, channel });
    }
    this.out.push(subscribeControl(channel));
    this.setPresenceEvents(channel, wantEvents);
    const entry: PendingSubscribe = {
      channel,
      ...(since ? { since } : {}),
      barrier: this.nextBarrier(),
      startedMs: this.ports.now(),
      more: false,
      rounds: 0,
      behind: 0,
      gated: false,
    };
    this.state = { ...this.state, pending: [...this.state.pending.filter((p) => p.channel !== channel), entry] };
  }

  /** A barrier came back: each subscribe it covers takes its next step (see wsSubscribe.ts). */
  private async confirm(barrier: number): Promise<void> {
    const user = this.state.user;
    if (!user) return;
    for (const entry of this.state.pending.filter((p) => p.barrier <= barrier)) {
      if (mayHaveLapsed(entry, this.ports.now(), this.options.limits)) continue; // recoverStalled() fails it
      const roomBytes = ANSWER_CATCH_UP_BUDGET_BYTES - this.catchUpBytes;
      if (roomBytes < MIN_ROUND_ROOM_BYTES) {
        // This answer is full: the subscribe takes its round at the next barrier (no round is counted).
        // Its skipping is renewed first, as a round does, since the next pong may come a while later.
        if (!(await renewSkipping(this.ports.history, entry.channel, user, this.options.limits).catch(() => false))) {
          await this.abandonPending(entry, user, `the subscribe to ${entry.channel} could not be renewed; subscribe again`);
          continue;
        }
        // The barrier first: nextBarrier() records it in the state, which the spread below must include.
        const next = this.nextBarrier();
        this.replacePending(entry, { ...progressed(entry), barrier: next, startedMs: this.ports.now() });
        continue;
      }
      const outcome = await catchUpRound(
        {
          history: this.ports.history,
          user,
          limits: this.options.limits,
          now: this.ports.now(),
          roomBytes,
          subscribedFrame: serverFrames.subscribed,
          onGate: (outcome) => this.ports.observe?.gate?.(outcome),
        },
        entry,
      ).catch((error: unknown) => {
        this.ports.observe?.failed?.(error);
        return { kind: 'failed' as const, message: `the subscribe to ${entry.channel} failed; subscribe again` };
      });
      const others = this.state.pending.filter((p) => p.channel !== entry.channel);
      if (outcome.kind === 'live') {
        this.ports.observe?.caughtUp?.(entry.channel, entry.rounds, entry.gated);
        const subscriptions = this.state.subscriptions.includes(entry.channel) ? this.state.subscriptions : [...this.state.subscriptions, entry.channel];
        this.state = { ...this.state, pending: others, subscriptions };
      } else if (outcome.kind === 'frames') {
        for (const frame of outcome.frames) this.send(frame);
        this.catchUpBytes += outcome.bytes;
        if (outcome.delivered > 0) this.ports.observe?.replayed?.(outcome.delivered);
        // The barrier first: nextBarrier() records it in the state, which the spread below must include.
        const barrier = this.nextBarrier();
        this.state = { ...this.state, pending: [...others, { ...outcome.pending, barrier }] };
      } else {
        await this.abandonPending(entry, user, outcome.message);
      }
    }
  }

  /** Subscribes the connection to the channel's member events, or unsubscribes it (see memberEvents.ts). */
  private setPresenceEvents(channel: string, wanted: boolean): void {
    const events = this.state.presenceEvents ?? [];
    if (events.includes(channel) === wanted) return;
    const grip = presenceEventsChannelFor('ws', channel);
    this.out.push(gripControlEvent({ type: wanted ? 'subscribe' : 'unsubscribe', channel: grip }));
    const next = wanted ? [...events, channel] : events.filter((c) => c !== channel);
    const { presenceEvents: _old, ...rest } = this.state;
    this.state = next.length > 0 ? { ...rest, presenceEvents: next } : rest;
  }

  /** The member events of channels the connection no longer holds end with them. */
  pruneEvents(): void {
    const held = new Set(leasedChannels(this.state));
    for (const channel of this.state.presenceEvents ?? []) if (!held.has(channel)) this.setPresenceEvents(channel, false);
  }

  /**
   * Counts the connection on the channel, as `member` (or no member), when that is new: its lease is
   * taken now, so a subscribe is seen at once. False when the channel is full and the subscribe asked
   * for presence (a plain subscribe goes on uncounted). A store that cannot be reached counts it at
   * the next renewal (the request after this one).
   */
  private async enterPresence(channel: string, member: WsPresenceEntry | undefined): Promise<boolean> {
    const port = this.ports.presence;
    const current = this.state.presence ?? [];
    const existing = current.find((e) => e.channel === channel);
    const others = current.filter((e) => e.channel !== channel);
    const presence = member ? [...others, member] : others;
    const { presence: _old, ...rest } = this.state;
    const next: WsSessionState = presence.length > 0 ? { ...rest, presence } : rest;
    const held = leasedChannels(this.state).includes(channel);
    const same = existing?.clientId === member?.clientId && JSON.stringify(existing?.info) === JSON.stringify(member?.info);
    if (!port || (held && same)) {
      this.state = next;
      return true;
    }
    const user = this.user();
    try {
      const refused = await port.touch([leaseOf(user, channel, member)]);
      this.asked.add(channel);
      if (refused.length > 0) {
        this.ports.observe?.presenceRefused?.(member ? 'full' : 'uncounted');
        if (member) return false;
      } else {
        this.touched.push({ channel, user });
      }
    } catch (error) {
      this.ports.observe?.presenceFailed?.(error);
      const { leaseAt: _renewed, ...unrenewed } = next;
      this.state = unrenewed;
      return true;
    }
    this.state = next;
    return true;
  }

  /**
   * At the end of a request: releases the leases of channels the connection no longer holds (all of
   * them when it closed), and renews the others when due.
   */
  async settlePresence(initial: WsSessionState): Promise<void> {
    const port = this.ports.presence;
    if (!port) return;
    if (!this.closed) this.state = prunePresence(this.state);
    const now = this.ports.now();
    const plan = planLeases(initial, this.closed ? undefined : this.state, this.touched, now);
    if (plan.releases.length > 0) {
      await port.release(plan.releases).catch((error: unknown) => this.ports.observe?.presenceFailed?.(error));
    }
    if (!plan.renew) return;
    try {
      // Asked for in this request already: nothing to renew.
      if (!plan.renew.every((lease) => this.asked.has(lease.channel))) {
        const refused = await port.touch(plan.renew);
        if (refused.length > 0) this.ports.observe?.presenceRefused?.('uncounted');
      }
      this.state = { ...this.state, leaseAt: now };
    } catch (error) {
      this.ports.observe?.presenceFailed?.(error);
    }
  }

  private setGrant(grant: WsGrant): void {
    this.state = { ...this.state, grants: [...this.state.grants.filter((g) => g.channel !== grant.channel), grant] };
  }

  private dropGrant(channel: string): void {
    this.state = { ...this.state, grants: this.state.grants.filter((g) => g.channel !== channel) };
  }

  private dropGrantUnlessSubscribed(channel: string): void {
    if (!this.state.subscriptions.includes(channel)) this.dropGrant(channel);
  }

  /**
   * A subscription whose token expired (its close at `exp` came too late or was lost): the client is
   * told which, and the connection closes; it reconnects with a fresh token and `since`.
   */
  async closeExpiredGrants(): Promise<void> {
    const nowSeconds = Math.floor(this.ports.now() / 1000);
    const expired = this.state.grants.filter((g) => g.exp <= nowSeconds);
    if (expired.length === 0) return;
    for (const grant of expired) {
      this.error({ error: 'token_expired', message: `the subscribe token for ${grant.channel} expired; reconnect with a fresh one and "since"`, channel: grant.channel });
    }
    this.ports.observe?.expired?.();
    await this.end();
    this.out.push(closeEvent(CLOSE_CODES.tokenExpired, 'subscribe token expired'));
  }

  private failSubscribe(channel: string, message: string): void {
    this.error({ error: 'subscribe_failed', message, channel });
    this.dropGrantUnlessSubscribed(channel);
    if (!this.state.subscriptions.includes(channel)) {
      this.out.push(gripControlEvent({ type: 'unsubscribe', channel: liveChannelFor('ws', channel) }));
    }
  }

  /**
   * Subscribes whose barrier has not come back (this runs after the request's events, so a pong the
   * proxy held until now still counts): the barrier is sent again once; with still no pong, or once the
   * history's skipping may have lapsed, the subscribe fails, so the client knows to try again. While a
   * subscribe is in progress the connection calls at least every CATCH_UP_KEEP_ALIVE_SECONDS, so this
   * runs even when the client sends nothing.
   */
  async recoverStalled(): Promise<void> {
    const user = this.state.user;
    if (!user) return;
    for (const entry of [...this.state.pending]) {
      const step = await resendBarrier(this.ports.history, entry, user, this.options.limits, this.ports.now()).catch((error: unknown) => {
        this.ports.observe?.failed?.(error);
        return 'fail' as const;
      });
      if (step === 'wait') continue;
      if (step === 'resend') {
        this.ports.observe?.barrierResent?.(entry.channel);
        // The barrier first: nextBarrier() records it in the state, which the spread below must include.
        const barrier = this.nextBarrier();
        this.replacePending(entry, { ...entry, barrier, startedMs: this.ports.now(), resent: true });
        continue;
      }
      await this.abandonPending(entry, user, `the proxy did not confirm the subscribe to ${entry.channel} in time; subscribe again`);
    }
  }

  /** A subscribe in progress that cannot go on: out of the state, its skipping undone, the client told. */
  private async abandonPending(entry: PendingSubscribe, user: string, message: string): Promise<void> {
    this.state = { ...this.state, pending: this.state.pending.filter((p) => p !== entry) };
    await abandonSubscribe(this.ports.history, entry, user);
    this.failSubscribe(entry.channel, message);
  }

  private replacePending(entry: PendingSubscribe, next: PendingSubscribe): void {
    this.state = { ...this.state, pending: this.state.pending.map((p) => (p === entry ? next : p)) };
  }

  private async unsubscribe(channel: string): Promise<void> {
    const pending = this.state.pending.find((p) => p.channel === channel);
    const wasPending = pending !== undefined;
    const wasActive = this.state.subscriptions.includes(channel);
    if (pending && this.state.user) await abandonSubscribe(this.ports.history, pending, this.state.user);
    if (wasPending || wasActive) {
      this.state = {
        ...this.state,
        subscriptions: this.state.subscriptions.filter((c) => c !== channel),
        pending: this.state.pending.filter((p) => p.channel !== channel),
        grants: this.state.grants.filter((g) => g.channel !== channel),
      };
      this.out.push(gripControlEvent({ type: 'unsubscribe', channel: liveChannelFor('ws', channel) }));
    }
    this.send(serverFrames.unsubscribed(channel));
  }

  /** Publishing to a private channel takes a token with `"publish": true`: in the frame, or the subscription's. */
  private async mayPublish(channel: string, token: string | undefined): Promise<boolean> {
    if (!this.ports.access.isPrivate(channel)) return true;
    if (token !== undefined) {
      const decision = await this.ports.access.authorize(channel, token);
      return decision.allowed && decision.kind === 'granted' && decision.publish;
    }
    const grant = this.state.grants.find((g) => g.channel === channel);
    return grant !== undefined && grant.publish && grant.exp * 1000 > this.ports.now();
  }

  private async publish(channel: string, data: unknown, token: string | undefined, skipSelf: boolean): Promise<void> {
    if (!this.ports.publish) {
      return this.error({
        error: 'publish_forbidden',
        message: 'clients may not publish here (the origin runs with ALLOW_CLIENT_PUBLISH=false)',
        channel,
      });
    }
    if (!(await this.mayPublish(channel, token))) {
      this.ports.observe?.refused?.('publish');
      return this.error({
        error: 'forbidden',
        message: `${channel} is a private channel: publishing to it takes a subscribe token granting it with "publish": true`,
        channel,
      });
    }
    try {
      const input = validatePublishInput({ channel, data }, 'message', { allowId: false });
      // skipSelf: the message skips this connection as a subscribe in progress does (Pushpin's
      // skip-users filter, which every WebSocket subscription carries); the answer names the position
      // it follows, so the client moves its own through it.
      const message = await this.ports.publish(skipSelf ? { ...input, skipUser: this.user() } : input);
      this.ports.observe?.published?.();
      this.send(serverFrames.published(channel, message.id, skipSelf ? message.prevId : undefined));
    } catch (error) {
      const failure = describePublishFailure(error);
      if (!failure) throw error;
      this.ports.observe?.publishFailed?.(failure.kind, error);
      this.error({ error: failure.code, message: failure.message, channel });
    }
  }
}

/**
 * One WebSocket-over-HTTP request: `state` is the connection's meta as read, `seal` whether it verified
 * (see wsSessionState.ts). State that did not verify is never acted on: a new connection (OPEN) starts
 * afresh; any other request is answered with an error and a close (code 4002): the client reconnects
 * and subscribes again from its position.
 */
export async function runWsSession(
  events: WebSocketEvent[],
  state: WsSessionState,
  ports: WsSessionPorts,
  options: WsSessionOptions,
  seal: SealStatus = 'valid',
): Promise<WsSessionResult> {
  if (seal === 'invalid' && events[0]?.type !== 'OPEN') {
    ports.observe?.unsealed?.();
    const session = new Session(EMPTY_SESSION_STATE, ports, options);
    session.error({ error: 'session_invalid', message: 'the connection\'s session state did not verify; reconnect and subscribe again with "since"' });
    session.out.push(closeEvent(CLOSE_CODES.sessionInvalid, 'session state did not verify'));
    return { out: session.out, state: EMPTY_SESSION_STATE };
  }
  const initial = seal === 'invalid' ? EMPTY_SESSION_STATE : state;
  const session = new Session(initial, ports, options);
  await session.closeExpiredGrants();
  for (const event of events) {
    if (session.closed) break;
    try {
      await session.handle(event);
    } catch (error) {
      ports.observe?.failed?.(error);
      session.error({ error: 'internal', message: 'the origin could not handle this frame; try again' });
    }
  }
  if (!session.closed) await session.recoverStalled();
  await session.settlePresence(initial);
  if (session.closed) return { out: session.out, state: session.state };
  session.pruneEvents();
  session.out.push(...expiryControls(state.grants, session.state.grants));
  const closesAt = earliestExpiry(session.state.grants);
  if (closesAt !== undefined) ports.scheduleExpiry?.(closesAt, closesAt !== earliestExpiry(state.grants));
  // While a subscribe is in progress Pushpin writes to an idle client every few seconds: Pushpin 1.36
  // (Debian's) can stop writing to a WebSocket client mid-answer until something else is written to it
  // (see CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS); newer builds, Fastly's among them, do not.
  const catchingUp = (s: WsSessionState) => s.pending.length > 0;
  if (catchingUp(initial) !== catchingUp(session.state)) {
    session.out.push(clientKeepAlive(catchingUp(session.state) ? CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS : options.keepAliveSeconds));
  }
  if (session.barrier !== undefined) session.out.push(...barrierControls(ports.barriers.payload(session.barrier)));
  const keepAlive = keepAliveInterval(initial, session.state, ports, options);
  return { out: session.out, state: session.state, ...(keepAlive !== undefined ? { keepAliveIntervalSeconds: keepAlive } : {}) };
}

/**
 * The Keep-Alive-Interval to ask for: the shortest of those the connection needs now (its grants'
 * expiry check, its presence leases' renewal); 0 when it needed one before and needs none now.
 */
function keepAliveInterval(before: WsSessionState, after: WsSessionState, ports: WsSessionPorts, options: WsSessionOptions): number | undefined {
  const leases = (s: WsSessionState) => ports.presence !== undefined && leasedChannels(s).length > 0;
  const wanted = [
    ...(after.grants.length > 0 ? [options.grantKeepAliveSeconds ?? GRANT_KEEP_ALIVE_SECONDS] : []),
    ...(leases(after) ? [ports.presence!.keepAliveSeconds] : []),
    ...(after.pending.length > 0 ? [CATCH_UP_KEEP_ALIVE_SECONDS] : []),
  ];
  if (wanted.length > 0) return Math.min(...wanted);
  return before.grants.length > 0 || leases(before) || before.pending.length > 0 ? 0 : undefined;
}

/** Pushpin sends the client an unsolicited pong after this many idle seconds (clients answer nothing). */
function clientKeepAlive(seconds: number): WebSocketEvent {
  return gripControlEvent({ type: 'keep-alive', 'message-type': 'pong', content: '', timeout: seconds });
}

/** When the first of a connection's grants ends: the connection is closed then unless a fresh token came. */
function earliestExpiry(grants: WsGrant[]): number | undefined {
  return grants.length === 0 ? undefined : Math.min(...grants.map((g) => g.exp));
}

/**
 * The connection holds one expiry channel: that of its earliest grant's `exp` (a close published there
 * at `exp` ends the whole connection, whichever grant it was), so private channels cost one more
 * subscription in all, not one each.
 */
function expiryControls(before: WsGrant[], after: WsGrant[]): WebSocketEvent[] {
  const had = earliestExpiry(before);
  const has = earliestExpiry(after);
  if (had === has) return [];
  return [
    ...(has !== undefined ? [gripControlEvent({ type: 'subscribe', channel: expiryChannelFor(has) })] : []),
    ...(had !== undefined ? [gripControlEvent({ type: 'unsubscribe', channel: expiryChannelFor(had) })] : []),
  ];
}
