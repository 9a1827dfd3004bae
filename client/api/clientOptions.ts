// What createClient takes, its defaults, and what it makes of them: the machine's settings and the
// runtime APIs in use. A transport the runtime cannot do is an error naming what to pass, except under
// 'auto', which uses the transports it can.
import { TRANSPORT_NAMES, type TransportName } from '../../protocol/index.ts';
import type { MachineSettings } from '../core/clientMachine.ts';
import { defaultSilenceMs } from '../core/liveness.ts';
import {
  runtimeGlobal,
  type EventSourceConstructor,
  type FetchLike,
  type RuntimeEnv,
  type WebSocketConstructor,
} from '../transports/runtimeApis.ts';

export interface ClientOptions {
  /**
   * The service: `https://example.com` (it serves /ws, /events, /stream, /poll and /api below it; a path
   * prefix is kept). In a browser page the page's origin when omitted.
   */
  url?: string;
  /** One transport, or 'auto' (the default): WebSocket first, falling back to SSE, then long-poll. */
  transport?: TransportName | 'auto';
  /** For 'auto': the transports to try, best first (default websocket, sse, poll; those this runtime cannot do are left out). */
  fallback?: readonly TransportName[];
  /** Default: globalThis.WebSocket. Node 20 has none: pass `ws`'s (`import WebSocket from 'ws'`). */
  WebSocket?: WebSocketConstructor;
  /** Default: globalThis.EventSource (browsers). */
  EventSource?: EventSourceConstructor;
  /** Default: globalThis.fetch. */
  fetch?: FetchLike;
  /** How SSE is read: with an EventSource (the default where there is one and no `headers`), or with fetch streaming. */
  sse?: 'eventsource' | 'fetch';
  /**
   * Headers for every request and WebSocket handshake, e.g. `{ 'pushpin-route': 'origin' }` to talk to
   * Pushpin directly. Node only: a browser cannot put headers on a WebSocket or an EventSource.
   */
  headers?: Record<string, string>;
  /** The WebSocket constructor's second argument (Node's `ws`: e.g. `{ perMessageDeflate: false }`). */
  webSocketOptions?: Record<string, unknown>;
  /**
   * A connection with nothing at all (keep-alives included) for this long is dropped; one with no
   * message for two thirds of it is checked (a WebSocket pings, a stream asks the history). Default
   * 45 s: Pushpin sends stream keep-alives every 20 s and WebSocket pongs every 25 s.
   */
  idleTimeoutMs?: number;
  /** How long without a message before that check (default two thirds of `idleTimeoutMs`). */
  silenceCheckMs?: number;
  /** Reconnect delays: random between 0 and min(maxMs, baseMs * 2^failures). Default 500 ms and 10 s. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** A connection that stayed up this long was healthy: the backoff starts over after it. Default 5 s. */
  healthyAfterMs?: number;
  /** 'auto': connect failures in a row before falling back one transport. Default 2. */
  fallbackAfterFailures?: number;
  /**
   * 'auto': how long to stay on a fallback after the first fall before trying the better transport
   * again (an outage makes every transport fail, and is usually short). Default 10 s.
   */
  firstUpgradeAfterMs?: number;
  /** 'auto': how long to stay on a fallback after a later fall (doubling with each further fall). Default 5 min. */
  upgradeAfterMs?: number;
  /** How long before a token's `exp` to get a fresh one. Default: a quarter of its remaining lifetime, 1-60 s. */
  tokenRefreshLeadMs?: number;
  /** A WebSocket publish with no answer for this long is rejected. Default 10 s. */
  publishTimeoutMs?: number;
  /**
   * A WebSocket subscribe with no answer for this long: the client leaves the connection and subscribes
   * again, from its position, on a new one. Default 20 s (the origin gives up a stalled subscribe after 15 s).
   */
  subscribeTimeoutMs?: number;
  /** Randomness for the backoff jitter (tests); Math.random by default. */
  random?: () => number;
  /**
   * Subscriptions on SSE, NDJSON and long-poll take a presence lease over HTTP while subscribed, so
   * the channel's occupancy counts them (a WebSocket is counted by the origin itself). Default true;
   * false: only those that enter presence (`presence: true`) take one.
   */
  presenceLeases?: boolean;
}

export const DEFAULT_FALLBACK: readonly TransportName[] = ['websocket', 'sse', 'poll'];

export interface ResolvedClient {
  /** Whether every HTTP subscription takes a presence lease (see ClientOptions.presenceLeases). */
  presenceLeases: boolean;
  base: string;
  env: RuntimeEnv;
  /** SSE through an EventSource (else fetch). */
  eventSource: boolean;
  settings: MachineSettings;
}

const missing = (transport: TransportName, what: string): Error =>
  new Error(`fanout-forward client: transport '${transport}' needs ${what}`);

export function resolveClientOptions(options: ClientOptions): ResolvedClient {
  const base = options.url ?? runtimeGlobal<{ origin?: string }>('location')?.origin;
  if (!base || !/^(http|ws)s?:\/\//i.test(base)) throw new Error('fanout-forward client: `url` must be an http(s) URL (required outside a browser page)');
  const fetchFn = options.fetch ?? runtimeGlobal<FetchLike>('fetch')?.bind(globalThis);
  const env: RuntimeEnv = {
    WebSocket: options.WebSocket ?? runtimeGlobal<WebSocketConstructor>('WebSocket'),
    EventSource: options.EventSource ?? runtimeGlobal<EventSourceConstructor>('EventSource'),
    fetch: fetchFn,
    headers: { ...options.headers },
    webSocketOptions: options.webSocketOptions,
  };
  const eventSource = options.sse === 'eventsource' || (options.sse === undefined && env.EventSource !== undefined && options.headers === undefined);
  const lacks = (transport: TransportName): string | undefined => {
    if (transport === 'websocket') {
      return env.WebSocket ? undefined : "a WebSocket constructor: this runtime has no global WebSocket (Node 20 has none); pass one, e.g. `import WebSocket from 'ws'; createClient({ url, WebSocket })`";
    }
    // Every HTTP transport also asks the history API (its position, the silence check): fetch.
    if (!env.fetch) return 'fetch (pass `fetch`)';
    return transport === 'sse' && eventSource && !env.EventSource ? 'an EventSource constructor (pass `EventSource`, or `sse: "fetch"`)' : undefined;
  };
  const requested = options.transport ?? 'auto';
  let transports: TransportName[];
  if (requested === 'auto') {
    transports = (options.fallback ?? DEFAULT_FALLBACK).filter((t) => lacks(t) === undefined);
    if (transports.length === 0) throw new Error('fanout-forward client: no transport asked for is here (no WebSocket, no fetch): pass `WebSocket` or `fetch`');
  } else {
    if (!TRANSPORT_NAMES.includes(requested)) throw new Error(`fanout-forward client: transport must be one of ${TRANSPORT_NAMES.join(', ')} or auto`);
    const lack = lacks(requested);
    if (lack) throw missing(requested, lack);
    transports = [requested];
  }
  return {
    presenceLeases: options.presenceLeases !== false,
    base,
    env,
    eventSource,
    settings: {
      transports,
      idleTimeoutMs: options.idleTimeoutMs ?? 45_000,
      silenceCheckMs: options.silenceCheckMs ?? defaultSilenceMs(options.idleTimeoutMs ?? 45_000),
      backoff: { baseMs: options.backoff?.baseMs ?? 500, maxMs: options.backoff?.maxMs ?? 10_000 },
      healthyAfterMs: options.healthyAfterMs ?? 5000,
      fallbackAfterFailures: options.fallbackAfterFailures ?? 2,
      firstUpgradeAfterMs: options.firstUpgradeAfterMs ?? 10_000,
      upgradeAfterMs: options.upgradeAfterMs ?? 300_000,
      tokenLeadMs: options.tokenRefreshLeadMs,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
      subscribeTimeoutMs: options.subscribeTimeoutMs ?? 20_000,
      // An EventSource hides the id-only block a stream of one channel starts with, not the position
      // event of a stream of several: it always opens those (see createClient's open).
      locateFirst: ['poll'],
      keepAliveHidden: eventSource ? ['poll', 'sse'] : ['poll'],
      random: options.random ?? Math.random,
    },
  };
}
