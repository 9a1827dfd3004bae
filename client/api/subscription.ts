// A subscription as the application holds it: its events, its position and state, `ready`, and the
// testing hooks. It reads its figures from the machine's record and acts through the client's driver.
import type { ContinuityReset, Envelope, PresenceEvent, PresenceSnapshot, TransportName } from '../../protocol/index.ts';
import type { MachineEvent, PresenceRequest, RecoveryReason, SubRecord, SubscriptionStateName, SubscriptionStats } from '../core/clientMachine.ts';
import { SubscriptionError } from './errors.ts';
import { Listeners, type Unlisten } from './listeners.ts';

/** A message: `id` is its position on the channel; a message published straight to the proxy has none. */
export type Message = Envelope;

/** Continuity lost: the origin could not continue from `since`; everything retained after `after` follows. */
export interface ResetNotice extends ContinuityReset {
  channel: string;
}

export interface StateChange {
  state: SubscriptionStateName;
  transport: TransportName;
}

/** The subscription connects again, and why (a diagnostic: nothing is lost). */
export interface Recovery {
  reason: RecoveryReason;
  /** Where it resumes from. */
  position: string | undefined;
  detail: string | undefined;
}

export interface SubscriptionEvents {
  message: Message;
  reset: ResetNotice;
  state: StateChange;
  recovering: Recovery;
  /** The subscription ended for good (ready rejects with the same error). */
  error: SubscriptionError;
  /**
   * A member entered (`member_joined`) or left (`member_left`) the channel; only for subscriptions
   * made with `presence: true` or `{ events: true }`. Live only: after a reconnect, `presence()` tells
   * who is there.
   */
  presence: PresenceEvent;
}

/**
 * `enter`: be in the channel's presence as the token's `sub` (with its `info` claim): a private
 * channel, and a token naming its holder. `events`: receive member events (`on('presence')`).
 */
export interface PresenceOptions {
  enter?: boolean;
  events?: boolean;
}

export type TokenSource = string | (() => string | Promise<string>);

export interface SubscribeOptions {
  /** Resume after this id ("0": everything retained). Without it: live from the channel's position when subscribed. */
  since?: string;
  /**
   * A subscribe token for a private channel; a function is asked again before the token's `exp` and
   * when one is refused. Subscriptions given the same token (string or function) share it, and one
   * SSE or NDJSON stream: it must grant all their channels.
   */
  token?: TokenSource;
  /** `true`: enter the channel's presence and receive its member events; or choose each (see PresenceOptions). */
  presence?: boolean | PresenceOptions;
}

/** What `presence` asks the machine for (undefined: nothing). */
export function presenceRequestOf(option: SubscribeOptions['presence']): PresenceRequest | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { enter: true, events: true };
  if (typeof option !== 'object' || option === null) throw new TypeError('fanout-forward client: presence must be true, false or { enter?, events? }');
  const request = { enter: option.enter === true, events: option.events === true };
  return request.enter || request.events ? request : undefined;
}

/** Hooks for test harnesses (soak, benchmarks, fault suites); an application has no use for them. */
export interface SubscriptionTestingHooks {
  /** Drops the subscription's connection as a network would (a WebSocket or a stream of several channels: every channel on it). It comes back by itself. */
  cut(): void;
  /**
   * Stops reading from the subscription's connection for `ms` at most (a slow consumer: the proxy's
   * buffer for it fills; a WebSocket or a stream of several channels: every channel on it). Returns the function that resumes at once,
   * or undefined when this connection cannot pause (an EventSource, a browser WebSocket) or there is
   * none right now.
   */
  stall(ms: number): (() => void) | undefined;
}

export interface Subscription {
  readonly channel: string;
  /** The id of the last stored message delivered (or where the origin placed the subscription). */
  readonly position: string | undefined;
  readonly state: SubscriptionStateName;
  readonly transport: TransportName | undefined;
  /** Counters for diagnostics: messages, duplicates dropped, resets, reconnects, recoveries by reason. */
  readonly stats: Readonly<SubscriptionStats>;
  /** Resolves once subscribed with a known position; rejects when the subscription fails first. */
  readonly ready: Promise<void>;
  on<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): Unlisten;
  off<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): void;
  unsubscribe(): void;
  /**
   * The channel's occupancy and a page of its members (GET /api/channels/:channel/presence), read with
   * the subscription's token (the API takes a token granting the channel, public channels too).
   * Rejects with a PresenceQueryError.
   */
  presence(page?: { after?: string; limit?: number }): Promise<PresenceSnapshot>;
  readonly testing: SubscriptionTestingHooks;
}

/** What a subscription needs of its client. */
export interface SubscriptionDriver {
  dispatch(event: MachineEvent): void;
  record(id: number): SubRecord | undefined;
  stall(conn: number, ms: number): (() => void) | undefined;
  /** The subscription is closed: the client forgets it. */
  forget(id: number): void;
  /** The key of a token (the same for the same string or function), for the machine to share it. */
  tokenKey(source: TokenSource | undefined): number | string | undefined;
  /** Reads the presence API with this token. */
  queryPresence(channel: string, token: string | undefined, page?: { after?: string | undefined; limit?: number | undefined }): Promise<PresenceSnapshot>;
  readonly closed: boolean;
  /** The transport subscriptions use now. */
  readonly transport: TransportName;
}

const NO_STATS: SubscriptionStats = { messages: 0, duplicates: 0, resets: 0, reconnects: 0, connectFailures: 0, recoveries: {} };

export class ClientSubscription implements Subscription {
  readonly listeners = new Listeners<SubscriptionEvents>();
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  private settled = false;
  private stopped = false;
  private current: SubscriptionStateName = 'connecting';
  private via: TransportName | undefined;
  private sub: SubRecord | undefined;

  constructor(
    private readonly driver: SubscriptionDriver,
    readonly id: number,
    readonly channel: string,
    readonly tokenSource: TokenSource | undefined,
    private readonly since: string | undefined,
    readonly presenceRequest?: PresenceRequest,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Unobserved, a rejection must not end the process: the `error` event says it as well.
    this.ready.catch(() => {});
    // Into the machine on the next microtask, so listeners attached right after subscribe() see everything.
    queueMicrotask(() => {
      if (this.stopped) return;
      const source = this.tokenSource;
      this.driver.dispatch({
        type: 'subscribe',
        sub: id,
        channel,
        since,
        token: typeof source === 'string' ? source : undefined,
        tokenFunction: typeof source === 'function',
        tokenKey: this.driver.tokenKey(source),
        ...(this.presenceRequest ? { presence: this.presenceRequest } : {}),
      });
      this.sub = this.driver.record(id);
    });
  }

  get position(): string | undefined {
    return this.sub ? this.sub.position : this.since;
  }
  get state(): SubscriptionStateName {
    return this.current;
  }
  get transport(): TransportName | undefined {
    return this.via;
  }
  get stats(): Readonly<SubscriptionStats> {
    return this.sub?.stats ?? NO_STATS;
  }

  on<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): Unlisten {
    return this.listeners.on(event, listener);
  }
  off<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): void {
    this.listeners.off(event, listener);
  }

  unsubscribe(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sub && this.current !== 'closed') this.driver.dispatch({ type: 'unsubscribe', sub: this.id });
    else this.changed('closed', this.via ?? this.driver.transport);
  }

  async presence(page: { after?: string; limit?: number } = {}): Promise<PresenceSnapshot> {
    const source = this.tokenSource;
    // The token in use (a function's latest), else a fixed one, else a fresh one from the function.
    const token = this.sub?.token.value ?? (typeof source === 'string' ? source : typeof source === 'function' ? await source() : undefined);
    return this.driver.queryPresence(this.channel, token, page);
  }

  readonly testing: SubscriptionTestingHooks = {
    cut: () => this.driver.dispatch({ type: 'cut', sub: this.id }),
    stall: (ms) => {
      const conn = this.sub?.conn;
      return conn ? this.driver.stall(conn.id, ms) : undefined;
    },
  };

  /** The machine's `state` effect. */
  changed(state: SubscriptionStateName, transport: TransportName): void {
    if (this.current === 'closed') return;
    this.current = state;
    this.via = transport;
    this.listeners.emit('state', { state, transport });
    if (state !== 'closed') return;
    this.stopped = true;
    this.driver.forget(this.id);
    const code = this.driver.closed ? 'closed' : 'unsubscribed';
    this.settle(new SubscriptionError(code, this.channel, `${code} before it was subscribed`));
  }

  /** The machine's `ready` effect (no error) or `fail` effect. */
  settle(error?: SubscriptionError): void {
    if (error && error.code !== 'closed' && error.code !== 'unsubscribed') this.listeners.emit('error', error);
    if (this.settled) return;
    this.settled = true;
    if (error) this.rejectReady(error);
    else this.resolveReady();
  }
}
