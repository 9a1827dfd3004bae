// The client: the driver around the state machine (core/clientMachine.ts). It feeds the machine
// events with the time, carries out its effects (connections through the transport bindings, history
// queries, token functions, the application's listeners), and keeps one timer per client for the
// machine's next wake-up. Events that arrive while effects run (a listener unsubscribing, a binding
// calling back at once) are queued, never nested.
import { CHANNEL_NAME_RULE, isMessageId, isValidChannelName, MESSAGE_ID_RULE, type StreamChannel, type TransportName } from '../../protocol/index.ts';
import { createMachine, step, type Effect, type MachineEvent, type MachineState } from '../core/clientMachine.ts';
import type { ConnectionHandle, ConnectionSink } from '../transports/connection.ts';
import { openEventSource } from '../transports/eventSourceConnection.ts';
import { probeHistory } from '../transports/historyQuery.ts';
import { openHttpStream, whyRefused } from '../transports/httpStreamConnection.ts';
import { openLongPoll } from '../transports/longPollConnection.ts';
import { describeError } from '../transports/runtimeApis.ts';
import { createPresenceLeases } from '../transports/presenceLeases.ts';
import { readPresenceSnapshot } from '../transports/presenceQuery.ts';
import { subscribeUrl, webSocketUrl } from '../transports/urls.ts';
import { openWebSocket } from '../transports/webSocketConnection.ts';
import { resolveClientOptions, type ClientOptions } from './clientOptions.ts';
import { PublishError, SubscriptionError } from './errors.ts';
import { ClientSubscription, presenceRequestOf, type SubscribeOptions, type Subscription, type SubscriptionDriver } from './subscription.ts';

export interface ClientConnectionInfo {
  transport: TransportName;
  open: boolean;
  channels: string[];
}

export interface FanoutClient {
  subscribe(channel: string, options?: SubscribeOptions): Subscription;
  /**
   * Publishes over the client's WebSocket (the origin must allow it: ALLOW_CLIENT_PUBLISH=true);
   * resolves with the message's id, rejects with a PublishError. `skipSelf`: the message does not come
   * back to this client's subscription to the channel on that WebSocket (every other subscriber gets
   * it; the subscription's position moves past it).
   */
  publish(channel: string, data: unknown, options?: { token?: string; skipSelf?: boolean }): Promise<string>;
  /** The transport subscriptions use now (under 'auto' it changes with fallbacks and upgrades). */
  readonly transport: TransportName;
  close(): void;
  readonly testing: {
    /** Drops every connection as a network would; the subscriptions come back by themselves. */
    cut(): void;
    /** The client's connections and the channels each carries. */
    connections(): ClientConnectionInfo[];
  };
}

/** Timers longer than this overflow in browsers and Node (the machine's far wake-ups are re-armed). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createClient(options: ClientOptions = {}): FanoutClient {
  const { base, env, eventSource, settings, presenceLeases } = resolveClientOptions(options);
  const machine: MachineState = createMachine(settings);
  const subscriptions = new Map<number, ClientSubscription>();
  /** Connections by the machine's id; null while the binding is being created. */
  const connections = new Map<number, ConnectionHandle | null>();
  const publishes = new Map<number, { channel: string; resolve(id: string): void; reject(error: Error): void }>();
  const queue: MachineEvent[] = [];
  const effects: Effect[] = [];
  let running = false;
  let nextId = 1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt = Infinity;
  // Subscriptions given the same token (the same string, the same function) share it in the machine:
  // one refresh for all, and one stream for all on SSE and NDJSON. A string is its own key.
  const functionKeys = new WeakMap<object, number>();

  const dispatch = (event: MachineEvent): void => {
    queue.push(event);
    if (running) return;
    running = true;
    try {
      for (let e = queue.shift(); e; e = queue.shift()) {
        step(machine, e, Date.now(), effects);
        for (let i = 0; i < effects.length; i++) execute(effects[i]!);
        effects.length = 0;
      }
    } finally {
      running = false;
    }
    arm();
  };

  const arm = (): void => {
    if (machine.closed) {
      if (timer !== undefined) clearTimeout(timer);
      return;
    }
    if (machine.wakeAt >= armedAt) return;
    if (timer !== undefined) clearTimeout(timer);
    armedAt = machine.wakeAt;
    if (armedAt === Infinity) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        armedAt = Infinity;
        dispatch({ type: 'tick' });
      },
      Math.min(MAX_TIMER_MS, Math.max(0, armedAt - Date.now())),
    );
  };

  const driver: SubscriptionDriver = {
    dispatch,
    record: (id) => machine.subs.get(id),
    queryPresence: (channel, token, page) => readPresenceSnapshot(env.fetch, base, bearer(token), channel, page),
    stall: (conn, ms) => connections.get(conn)?.stall(ms),
    tokenKey: (source) => {
      if (typeof source !== 'function') return source;
      let key = functionKeys.get(source);
      if (key === undefined) functionKeys.set(source, (key = nextId++));
      return key;
    },
    forget: (id) => void subscriptions.delete(id),
    get closed() {
      return machine.closed;
    },
    get transport() {
      return settings.transports[machine.ladder.index]!;
    },
  };

  // Streams and long-polls are counted through leases (transports/presenceLeases.ts); a lease refused
  // to a subscription that asked to enter presence ends it, as the origin's refusal on a WebSocket does.
  const leases = env.fetch
    ? createPresenceLeases({
        fetch: env.fetch,
        base,
        headers: env.headers,
        refused: (id, code, message) => {
          const sub = subscriptions.get(id);
          if (!sub) return;
          sub.settle(new SubscriptionError(code, sub.channel, message));
          sub.unsubscribe();
        },
      })
    : undefined;
  const followLease = (e: Extract<Effect, { type: 'state' }>): void => {
    const sub = subscriptions.get(e.sub);
    if (!leases || !sub) return;
    const enter = sub.presenceRequest?.enter === true;
    if (!presenceLeases && !enter) return;
    const source = sub.tokenSource;
    leases.follow(e.sub, e.state, e.transport, {
      channel: sub.channel,
      enter,
      token: () => machine.subs.get(e.sub)?.token.value ?? (typeof source === 'string' ? source : undefined),
    });
  };

  const sinkFor = (conn: number): ConnectionSink => {
    const to = (event: MachineEvent): void => {
      if (connections.has(conn)) dispatch(event);
    };
    return {
      opened: () => to({ type: 'opened', conn }),
      alive: () => to({ type: 'alive', conn }),
      frame: (frame) => to({ type: 'frame', conn, frame }),
      item: (item) => to({ type: 'item', conn, item }),
      position: (id) => to({ type: 'position', conn, id }),
      polled: (body) => to({ type: 'polled', conn, body }),
      ended: (info) => to({ type: 'ended', conn, ...info }),
    };
  };

  const bearer = (token: string | undefined): Record<string, string> =>
    token === undefined ? env.headers : { ...env.headers, Authorization: `Bearer ${token}` };

  const open = (e: Extract<Effect, { type: 'open' }>): ConnectionHandle => {
    const sink = sinkFor(e.conn);
    if (e.transport === 'websocket') return openWebSocket(env, webSocketUrl(base), sink);
    const { transport } = e;
    const presence = { presenceEvents: e.presenceEvents };
    const viaEventSource = transport === 'sse' && eventSource;
    // An EventSource gets a stream of several channels even for one: it names where each channel
    // stands in an event an EventSource shows (a stream of one names it in an id-only block).
    const channels = e.channels ?? (viaEventSource ? [e as StreamChannel] : e.channel!);
    const url = (token?: string): string => subscribeUrl(base, transport, channels, e.since, token, presence);
    // An EventSource cannot set Authorization: the token goes in the URL (the edge moves it into the header).
    if (viaEventSource) {
      const why = env.fetch && (() => whyRefused(env.fetch!, url(e.token), env.headers));
      return openEventSource(env.EventSource!, url(e.token), sink, why);
    }
    if (transport === 'poll') return openLongPoll(env.fetch!, url(), bearer(e.token), sink);
    return openHttpStream(env.fetch!, url(), bearer(e.token), transport, sink);
  };

  const execute = (e: Effect): void => {
    switch (e.type) {
      case 'open':
        connections.set(e.conn, null);
        try {
          connections.set(e.conn, open(e));
        } catch (error) {
          // A constructor that throws (an injected one, a URL it refuses): a connection that did not open.
          dispatch({ type: 'ended', conn: e.conn, refused: true, detail: describeError(error) });
        }
        return;
      case 'send':
        connections.get(e.conn)?.send(e.text);
        return;
      case 'drop': {
        const handle = connections.get(e.conn);
        connections.delete(e.conn);
        handle?.drop();
        return;
      }
      case 'fetch-token': {
        const source = subscriptions.get(e.sub)?.tokenSource;
        if (typeof source !== 'function') return;
        void Promise.resolve()
          .then(source)
          .then(
            (token) => {
              if (typeof token !== 'string' || token === '') throw new Error(`it gave ${JSON.stringify(token)}, not a token string`);
              dispatch({ type: 'token', sub: e.sub, token });
            },
          )
          .catch((error: unknown) => dispatch({ type: 'token-failed', sub: e.sub, detail: describeError(error) }));
        return;
      }
      case 'locate':
        void probeHistory(env.fetch!, base, bearer(e.token), e.channel).then((answer) =>
          dispatch('page' in answer ? { type: 'located', sub: e.sub, lastId: answer.page.lastId } : { type: 'located', sub: e.sub, status: answer.status, detail: answer.detail }),
        );
        return;
      case 'check':
        void probeHistory(env.fetch!, base, bearer(e.token), e.channel, e.since).then((answer) =>
          dispatch({
            type: 'checked',
            conn: e.conn,
            channel: e.channel,
            since: e.since,
            behind: 'page' in answer ? answer.page.messages.length > 0 || answer.page.reset !== undefined : undefined,
          }),
        );
        return;
      case 'message':
        subscriptions.get(e.sub)?.listeners.emit('message', e.message);
        return;
      case 'reset': {
        const sub = subscriptions.get(e.sub);
        sub?.listeners.emit('reset', { channel: sub.channel, ...e.reset });
        return;
      }
      case 'presence':
        subscriptions.get(e.sub)?.listeners.emit('presence', e.event);
        return;
      case 'state':
        followLease(e);
        subscriptions.get(e.sub)?.changed(e.state, e.transport);
        return;
      case 'recovering':
        subscriptions.get(e.sub)?.listeners.emit('recovering', { reason: e.reason, position: e.position, detail: e.detail });
        return;
      case 'ready':
        subscriptions.get(e.sub)?.settle();
        return;
      case 'fail': {
        const sub = subscriptions.get(e.sub);
        sub?.settle(new SubscriptionError(e.code, sub.channel, e.message));
        return;
      }
      case 'published':
      case 'publish-failed': {
        const pending = publishes.get(e.ref);
        publishes.delete(e.ref);
        if (!pending) return;
        if (e.type === 'published') pending.resolve(e.id);
        else pending.reject(new PublishError(e.code, pending.channel, e.message));
        return;
      }
    }
  };

  return {
    subscribe(channel, subscribeOptions = {}) {
      if (machine.closed) throw new Error('fanout-forward client: subscribe after close()');
      if (!isValidChannelName(channel)) throw new TypeError(`fanout-forward client: the channel must be ${CHANNEL_NAME_RULE}; got ${JSON.stringify(channel)}`);
      const { since, token } = subscribeOptions;
      const presence = presenceRequestOf(subscribeOptions.presence);
      if (since !== undefined && !isMessageId(since)) throw new TypeError(`fanout-forward client: since must be ${MESSAGE_ID_RULE}; got ${JSON.stringify(since)}`);
      if (token !== undefined && typeof token !== 'function' && (typeof token !== 'string' || token === '')) {
        throw new TypeError('fanout-forward client: token must be a string or a function returning one (or a promise of one)');
      }
      const sub = new ClientSubscription(driver, nextId++, channel, token, since, presence);
      subscriptions.set(sub.id, sub);
      return sub;
    },
    publish(channel, data, publishOptions = {}) {
      if (!isValidChannelName(channel)) return Promise.reject(new TypeError(`fanout-forward client: the channel must be ${CHANNEL_NAME_RULE}`));
      if (!env.WebSocket) return Promise.reject(new PublishError('no_websocket', channel, 'publishing goes over a WebSocket, and this client has no WebSocket constructor (pass `WebSocket`)'));
      if (machine.closed) return Promise.reject(new PublishError('closed', channel, 'the client is closed'));
      const ref = nextId++;
      return new Promise<string>((resolve, reject) => {
        publishes.set(ref, { channel, resolve, reject });
        dispatch({ type: 'publish', ref, channel, data, token: publishOptions.token, skipSelf: publishOptions.skipSelf === true });
      });
    },
    get transport() {
      return driver.transport;
    },
    close() {
      dispatch({ type: 'close' });
      leases?.close();
      for (const sub of [...subscriptions.values()]) sub.unsubscribe();
    },
    testing: {
      cut: () => dispatch({ type: 'cut' }),
      connections: () =>
        [...machine.conns.values()].map((c) => ({ transport: c.transport, open: c.open, channels: c.subs.map((s) => s.channel) })),
    },
  };
}
