// The WebSocket session: what the origin answers to one WebSocket-over-HTTP request, as a function of
// the request's events and the connection's state (from proxy meta). The history and the proxy are
// reached only through `ports`, so the route stays a thin binding and this is tested on its own.
import { HistoryUnavailableError } from '../history/historyStore.ts';
import type { PublishedMessage } from '../publishing/messagePublisher.ts';
import { describePublishFailure } from '../publishing/publishFailure.ts';
import { validatePublishInput, type PublishInput } from '../publishing/publishInput.ts';
import { liveChannelFor } from './gripChannels.ts';
import { closeEvent, closeStatusOf, clientTextEvent, gripControlEvent, type WebSocketEvent } from './websocketEvents.ts';
import { CLOSE_CODES, closeReplyCode, isProtocolError, parseClientFrame, serverFrames, type WsProtocolError } from './wsProtocol.ts';
import {
  abandonSubscribe,
  barrierControls,
  barrierOfPong,
  beginSubscribe,
  catchUpRound,
  subscribeControl,
  type SubscribeHistory,
  type SubscribeLimits,
} from './wsSubscribe.ts';
import type { PendingSubscribe, WsSessionState } from './wsSessionState.ts';

export interface WsSessionObserver {
  event?(name: string): void;
  opened?(): void;
  replayed?(count: number): void;
  /** A subscribe caught up and went live after `rounds` catch-up rounds (`gated`: appends were held). */
  caughtUp?(channel: string, rounds: number, gated: boolean): void;
  published?(): void;
  publishFailed?(kind: string, error: unknown): void;
  failed?(error: unknown): void;
}

export interface WsSessionPorts {
  history: SubscribeHistory;
  /** Stores and publishes a client's message; undefined when clients may not publish. */
  publish: ((input: PublishInput) => Promise<PublishedMessage>) | undefined;
  newUser(): string;
  now(): number;
  observe?: WsSessionObserver;
}

export interface WsSessionOptions {
  maxSubscriptions: number;
  limits: SubscribeLimits;
  /** Pushpin sends an unsolicited pong after this many idle seconds (clients answer nothing). */
  keepAliveSeconds: number;
}

export interface WsSessionResult {
  out: WebSocketEvent[];
  state: WsSessionState;
}

class Session {
  readonly out: WebSocketEvent[] = [];
  closed = false;
  /** Set when this answer needs a barrier (a subscribe began, or a catch-up round was sent). */
  barrier: number | undefined;

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
        this.out.push(
          gripControlEvent({ type: 'keep-alive', 'message-type': 'pong', content: '', timeout: this.options.keepAliveSeconds }),
        );
        this.state = { ...this.state, user: undefined };
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
        const barrier = barrierOfPong(event.content);
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
        return this.send(serverFrames.pong());
      case 'subscribe':
        return this.subscribe(command.channel, command.since);
      case 'unsubscribe':
        return this.unsubscribe(command.channel);
      case 'publish':
        return this.publish(command.channel, command.data);
    }
  }

  private async subscribe(channel: string, since: string | undefined): Promise<void> {
    const { subscriptions, pending } = this.state;
    const held = new Set([...subscriptions, ...pending.map((p) => p.channel)]);
    if (!held.has(channel) && held.size >= this.options.maxSubscriptions) {
      return this.error({
        error: 'too_many_subscriptions',
        message: `a connection may subscribe to at most ${this.options.maxSubscriptions} channels; unsubscribe first`,
        channel,
      });
    }
    const user = this.user();
    const previous = pending.find((p) => p.channel === channel);
    let begun: Awaited<ReturnType<typeof beginSubscribe>>;
    try {
      if (previous?.gated) await this.ports.history.ungateAppends(channel);
      begun = await beginSubscribe(this.ports.history, channel, user, this.options.limits);
    } catch (error) {
      // Named, so the client knows which subscribe to repeat (a bare "internal" names no channel).
      this.ports.observe?.failed?.(error);
      if (error instanceof HistoryUnavailableError) {
        return this.error({ error: 'history_unavailable', message: `the history is unavailable; subscribe to ${channel} again in a moment`, channel });
      }
      return this.error({ error: 'subscribe_failed', message: `the subscribe to ${channel} failed; subscribe again`, channel });
    }
    if (!begun.ok) return this.error({ error: begun.code, message: begun.message, channel });
    this.out.push(subscribeControl(channel));
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
      const outcome = await catchUpRound(
        { history: this.ports.history, user, limits: this.options.limits, now: this.ports.now(), subscribedFrame: serverFrames.subscribed },
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
        if (outcome.delivered > 0) this.ports.observe?.replayed?.(outcome.delivered);
        // The barrier first: nextBarrier() records it in the state, which the spread below must include.
        const barrier = this.nextBarrier();
        this.state = { ...this.state, pending: [...others, { ...outcome.pending, barrier }] };
      } else {
        this.state = { ...this.state, pending: others };
        await abandonSubscribe(this.ports.history, entry, user);
        this.failSubscribe(entry.channel, outcome.message);
      }
    }
  }

  private failSubscribe(channel: string, message: string): void {
    this.error({ error: 'subscribe_failed', message, channel });
    if (!this.state.subscriptions.includes(channel)) {
      this.out.push(gripControlEvent({ type: 'unsubscribe', channel: liveChannelFor('ws', channel) }));
    }
  }

  /** Subscribes whose barrier never came back: fail them, so the client knows to try again. */
  async expire(): Promise<void> {
    const user = this.state.user;
    const deadline = this.ports.now() - this.options.limits.subscribeTimeoutMs;
    const expired = this.state.pending.filter((p) => p.startedMs < deadline);
    if (expired.length === 0) return;
    this.state = { ...this.state, pending: this.state.pending.filter((p) => !expired.includes(p)) };
    for (const entry of expired) {
      if (user) await abandonSubscribe(this.ports.history, entry, user);
      this.failSubscribe(entry.channel, `the proxy did not confirm the subscribe to ${entry.channel} in time; subscribe again`);
    }
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
      };
      this.out.push(gripControlEvent({ type: 'unsubscribe', channel: liveChannelFor('ws', channel) }));
    }
    this.send(serverFrames.unsubscribed(channel));
  }

  private async publish(channel: string, data: unknown): Promise<void> {
    if (!this.ports.publish) {
      return this.error({
        error: 'publish_forbidden',
        message: 'clients may not publish here (the origin runs with ALLOW_CLIENT_PUBLISH=false)',
        channel,
      });
    }
    try {
      const message = await this.ports.publish(validatePublishInput({ channel, data }, 'message', { allowId: false }));
      this.ports.observe?.published?.();
      this.send(serverFrames.published(channel, message.id));
    } catch (error) {
      const failure = describePublishFailure(error);
      if (!failure) throw error;
      this.ports.observe?.publishFailed?.(failure.kind, error);
      this.error({ error: failure.code, message: failure.message, channel });
    }
  }
}

export async function runWsSession(
  events: WebSocketEvent[],
  state: WsSessionState,
  ports: WsSessionPorts,
  options: WsSessionOptions,
): Promise<WsSessionResult> {
  const session = new Session(state, ports, options);
  await session.expire();
  for (const event of events) {
    if (session.closed) break;
    try {
      await session.handle(event);
    } catch (error) {
      ports.observe?.failed?.(error);
      session.error({ error: 'internal', message: 'the origin could not handle this frame; try again' });
    }
  }
  if (session.barrier !== undefined && !session.closed) session.out.push(...barrierControls(session.barrier));
  return { out: session.out, state: session.state };
}
