// Prometheus metrics (prom-client), in a registry of the app's own so several apps in one process
// (tests) never share counters. Served at GET /metrics (see routes/metricsRoutes.ts).
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

export interface OriginMetrics {
  registry: Registry;
  /** Messages stored and handed to the GRIP proxy, by where they came from. */
  messagesPublished: Counter<'source'>;
  /** Publishes that failed, by kind: delivery (proxy refused or unreachable), conflict, invalid. */
  publishErrors: Counter<'kind'>;
  /** GRIP holds and WebSocket sessions opened, by transport. */
  holdsOpened: Counter<'transport'>;
  /** Messages answered at once from history (replay on connect, or a long-poll with pending messages). */
  messagesReplayed: Counter<'transport'>;
  /** WebSocket-over-HTTP events received, by event type and by client command. */
  websocketEvents: Counter<'event'>;
  /** Requests refused because their Grip-Sig did not verify, by reason. */
  signatureFailures: Counter<'reason'>;
  /** Channels closed through POST /api/channels/:channel/close (close items accepted by the proxy). */
  channelsClosed: Counter;
  /** Subscribes (and history reads, transport "history") refused on private channels, by reason. */
  subscribeRefusals: Counter<'transport' | 'reason'>;
  /** Subscriptions ended because their token expired, by transport (SSE and NDJSON: the closes published at exp, one per channel and exp). */
  subscriptionsExpired: Counter<'transport'>;
  /** WebSocket subscribes asking to hold a busy channel's appends for a round, by outcome (gated, joined, cooling). */
  appendGates: Counter<'outcome'>;
  /** History round trips of the publish path (concurrent publishes share one: see publishing/publishCoalescer.ts). */
  publishStoreRounds: Counter;
  /** Publish requests to the GRIP proxy (each to every target) carrying stored messages; messages_published / this = messages a request. */
  publishProxyRequests: Counter;
  /** Presence changes (channel_occupied, channel_vacated, member_added, member_removed), by type and reason (left, expired, or none). */
  presenceChanges: Counter<'type' | 'reason'>;
  /** Presence refused or a connection left uncounted, by reason (not-member, members, full, uncounted). */
  presenceRefusals: Counter<'reason'>;
  /** Presence store calls that failed (Redis unreachable): leases are renewed later, or lapse. */
  presenceErrors: Counter;
  /** Webhook batches by outcome: sent (a 2xx), failed (given up), dropped (events past the queue bound). */
  webhookBatches: Counter<'outcome'>;
}

export function createOriginMetrics(options: { defaultMetrics?: boolean } = {}): OriginMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'origin_' });
  const registers = [registry];
  return {
    registry,
    messagesPublished: new Counter({
      name: 'origin_messages_published_total',
      help: 'Messages stored and published to the GRIP proxy',
      labelNames: ['source'],
      registers,
    }),
    publishErrors: new Counter({
      name: 'origin_publish_errors_total',
      help: 'Failed publishes by kind (delivery, conflict, invalid)',
      labelNames: ['kind'],
      registers,
    }),
    holdsOpened: new Counter({
      name: 'origin_holds_opened_total',
      help: 'GRIP holds (and WebSocket sessions) opened, by transport',
      labelNames: ['transport'],
      registers,
    }),
    messagesReplayed: new Counter({
      name: 'origin_messages_replayed_total',
      help: 'Messages delivered from history on (re)connect, by transport',
      labelNames: ['transport'],
      registers,
    }),
    websocketEvents: new Counter({
      name: 'origin_websocket_events_total',
      help: 'WebSocket-over-HTTP events and client commands received',
      labelNames: ['event'],
      registers,
    }),
    signatureFailures: new Counter({
      name: 'origin_grip_signature_failures_total',
      help: 'Requests refused because Grip-Sig did not verify, by reason',
      labelNames: ['reason'],
      registers,
    }),
    channelsClosed: new Counter({
      name: 'origin_channels_closed_total',
      help: 'Channels closed (their streams and WebSockets ended) through the API',
      registers,
    }),
    subscribeRefusals: new Counter({
      name: 'origin_subscribe_refusals_total',
      help: 'Subscribes and history reads refused on private channels, by transport and reason',
      labelNames: ['transport', 'reason'],
      registers,
    }),
    subscriptionsExpired: new Counter({
      name: 'origin_subscriptions_expired_total',
      help: 'Subscriptions ended because their subscribe token expired, by transport',
      labelNames: ['transport'],
      registers,
    }),
    appendGates: new Counter({
      name: 'origin_ws_append_gates_total',
      help: "WebSocket subscribes asking to hold a busy channel's appends for a round, by outcome (gated, joined, cooling: refused)",
      labelNames: ['outcome'],
      registers,
    }),
    publishStoreRounds: new Counter({
      name: 'origin_publish_store_rounds_total',
      help: 'History round trips of the publish path (concurrent publishes share one)',
      registers,
    }),
    publishProxyRequests: new Counter({
      name: 'origin_publish_proxy_requests_total',
      help: 'Publish requests with stored messages sent to the GRIP proxy (concurrent publishes share one)',
      registers,
    }),
    presenceChanges: new Counter({
      name: 'origin_presence_changes_total',
      help: 'Presence changes (channel_occupied, channel_vacated, member_added, member_removed) by type and reason',
      labelNames: ['type', 'reason'],
      registers,
    }),
    presenceRefusals: new Counter({
      name: 'origin_presence_refusals_total',
      help: 'Presence refused, or a connection left uncounted, by reason (not-member, members, full, uncounted)',
      labelNames: ['reason'],
      registers,
    }),
    presenceErrors: new Counter({
      name: 'origin_presence_errors_total',
      help: 'Presence store calls that failed (leases are renewed later, or lapse)',
      registers,
    }),
    webhookBatches: new Counter({
      name: 'origin_webhook_batches_total',
      help: 'Webhook batches by outcome (sent, failed: given up; dropped counts events past the queue bound)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
