// Origin entry point: read and validate the environment, build the parts, listen, stop cleanly.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createChannelAccess } from './access/channelAccess.ts';
import { createExpiryCloser } from './access/expiryCloser.ts';
import { createStreamExpiryCloser } from './access/streamExpiryCloser.ts';
import { createOriginApp } from './app.ts';
import { ConfigError, loadOriginConfig, type OriginConfig } from './config/originConfig.ts';
import { createGripSignatureVerifier } from './grip/gripSignature.ts';
import type { HistoryStore } from './history/historyStore.ts';
import { createMemoryHistoryStore } from './history/memoryHistoryStore.ts';
import { HistoryUnavailableError } from './history/historyStore.ts';
import { createRedisHistoryStore } from './history/redisHistoryStore.ts';
import { createLogger } from './observability/logger.ts';
import { createOriginMetrics } from './observability/metrics.ts';
import { createReadiness, publishTargetCheck } from './observability/readiness.ts';
import { METRICS_DISABLED_MESSAGE } from './routes/metricsRoutes.ts';
import { createGripPublisher } from './publishing/gripPublisher.ts';
import { createChannelCloser } from './publishing/channelCloser.ts';
import { createMessagePublisher } from './publishing/messagePublisher.ts';
import { createWsStateSeal } from './websocket/wsStateSeal.ts';
import { createMemoryPresenceStore } from './presence/memoryPresenceStore.ts';
import { createPresenceTracker, type PresenceTracker } from './presence/presenceTracker.ts';
import { PresenceUnavailableError, type PresenceStore } from './presence/presenceStore.ts';
import { createRedisPresenceStore } from './presence/redisPresenceStore.ts';
import { memberEventAnnouncer } from './presence/memberEvents.ts';
import { createHttpPost } from './publishing/httpPost.ts';
import { createWebhookSender, DEFAULT_WEBHOOK_SETTINGS, webhookUrlForLog } from './webhooks/webhookSender.ts';
import { ORIGIN_MAX_HEADER_BYTES } from './websocket/wsSessionState.ts';

function readConfig(): OriginConfig {
  try {
    return loadOriginConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`origin: invalid configuration: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

const config = readConfig();
const log = createLogger(config.logLevel);
if (config.usingDevPublishToken) {
  log.warn(
    config.localOnly
      ? 'PUBLISH_TOKEN is not set; using the development token "dev-publish-token" (accepted on loopback only). Set it in production.'
      : 'using the development token "dev-publish-token" beyond loopback because ALLOW_DEV_PUBLISH_TOKEN=true; set PUBLISH_TOKEN unless only you can reach this origin',
  );
}
if (config.subscribeTokenSecretSource === 'dev') {
  log.warn('SUBSCRIBE_TOKEN_SECRET is not set; private channels take tokens signed with the local development secret (npm run token).');
} else if (config.subscribeTokenSecretSource === 'none') {
  log.warn(`SUBSCRIBE_TOKEN_SECRET is not set: every subscribe to a private channel (${config.access.privatePrefix}*) is refused.`);
}
if (config.metricsToken === undefined) log.warn(METRICS_DISABLED_MESSAGE);
async function openHistory(): Promise<HistoryStore> {
  if (!config.redisUrl) return createMemoryHistoryStore(config.history);
  try {
    return await createRedisHistoryStore({ url: config.redisUrl, limits: config.history });
  } catch (error) {
    if (error instanceof HistoryUnavailableError) {
      log.fatal(`REDIS_URL: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}
const history = await openHistory();
log.info({ store: config.redisUrl ? 'redis' : 'memory' }, 'history store ready');
async function openPresence(): Promise<PresenceTracker | undefined> {
  if (!config.presence.enabled) return undefined;
  const limits = { maxConnectionsPerChannel: config.presence.maxConnectionsPerChannel };
  let store: PresenceStore;
  try {
    store = config.redisUrl ? await createRedisPresenceStore({ url: config.redisUrl, limits }) : createMemoryPresenceStore(limits);
  } catch (error) {
    if (error instanceof PresenceUnavailableError) {
      log.fatal(`REDIS_URL: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const tracker = createPresenceTracker(store, { onSweepError: (error) => log.warn({ err: error }, 'presence sweep failed; the next one tries again') });
  tracker.start();
  return tracker;
}
const presence = await openPresence();
const grip = createGripPublisher(config.gripTargets);
const expiryCloser = createExpiryCloser({
  publish: (items) => grip.publish(items).then(() => undefined),
  onError: (exp, error) => log.error({ err: error, exp }, 'closing the WebSockets of expired tokens failed; their keep-alive will'),
});
const metrics = createOriginMetrics();
const streamExpiryCloser = createStreamExpiryCloser({
  publish: (items) => grip.publish(items).then(() => undefined),
  onClosed: (transport) => metrics.subscriptionsExpired.inc({ transport }),
  onError: (what, error) => log.error({ err: error }, `closing private streams failed: ${what}`),
  sweepSeconds: config.streamExpirySweepSeconds,
  // Without a token secret no private channel can be subscribed: nothing to sweep.
  sweep: config.subscribeTokenSecretSource !== 'none',
});
const readiness = createReadiness(
  [
    {
      name: 'history',
      target: config.redisUrl ? new URL(config.redisUrl).host : 'memory',
      run: () => history.ping(),
    },
    ...config.gripTargets.map((target) => publishTargetCheck(target.control_uri)),
  ],
  { showTargets: config.localOnly },
);
presence?.listen((changes) => {
  for (const change of changes) metrics.presenceChanges.inc({ type: change.type, reason: change.reason ?? '' });
  log.debug({ changes }, 'presence changed');
});
if (presence && config.webhooks) {
  const webhooks = createWebhookSender({ ...DEFAULT_WEBHOOK_SETTINGS, ...config.webhooks }, createHttpPost(), {
    observe: {
      sent: () => metrics.webhookBatches.inc({ outcome: 'sent' }),
      failed: (url, events, status, detail) => {
        metrics.webhookBatches.inc({ outcome: 'failed' });
        log.error({ url: webhookUrlForLog(url), events, status, detail }, 'a webhook batch was given up after its retries');
      },
      dropped: (url, events) => {
        metrics.webhookBatches.inc({ outcome: 'dropped' }, events);
        log.warn({ url: webhookUrlForLog(url), events }, 'webhook events dropped: the queue for this URL is full');
      },
    },
  });
  presence.listen((changes) => webhooks.enqueue(changes));
  log.info({ urls: config.webhooks.urls.map(webhookUrlForLog) }, 'channel events go to webhooks');
}
presence?.listen(memberEventAnnouncer((items) => grip.publish(items), (error) => log.warn({ err: error }, 'publishing member events failed; subscribers miss them')));
const app = createOriginApp({
  config,
  verifyGripSig: await createGripSignatureVerifier(config.signatureKeys),
  history,
  publisher: createMessagePublisher(history, grip, {
    limits: { maxFlushesInFlight: config.publishRequestsInFlight },
    observe: { round: () => metrics.publishStoreRounds.inc(), request: () => metrics.publishProxyRequests.inc() },
  }),
  channelCloser: createChannelCloser(grip),
  log,
  metrics,
  access: createChannelAccess(config.access),
  expiryCloser,
  streamExpiryCloser,
  readiness,
  stateSeal: createWsStateSeal(config.wsStateSecret),
  ...(presence ? { presence } : {}),
});

// A request must arrive whole within REQUEST_TIMEOUT_SECONDS (a body trickled byte by byte would
// otherwise hold its connection for Node's default of 5 minutes): past it Node answers 408 and
// closes. It bounds receiving only; every response here is quick (the proxy holds the streams).
const server = createServer(
  {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: Math.min(config.requestTimeoutMs, 60_000),
    // How often Node checks those timeouts (default 30 s, which would add up to 30 s to each).
    connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
    // The WebSocket session state rides on every WebSocket-over-HTTP request beside the client's own
    // headers: Node's default 16 KiB would answer 431 and the proxy drop the connection.
    maxHeaderSize: ORIGIN_MAX_HEADER_BYTES,
  },
  app,
);
server.listen(config.port, config.host);
server.on('error', (error: NodeJS.ErrnoException) => {
  const hint = error.code === 'EADDRINUSE' ? ` (port ${config.port} is in use; set PORT)` : '';
  log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}${hint}`);
  process.exit(1);
});
server.on('listening', () => {
  const { port } = server.address() as AddressInfo;
  log.info({ port, host: config.host, gripTargets: grip.targets }, `origin listening on http://${config.host}:${port}`);
});

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  expiryCloser.stop();
  streamExpiryCloser.stop();
  presence?.stop();
  // Requests in flight finish first: a publish already stored in the history must still reach the
  // proxy (a held WebSocket has no other way to get it; streams would recover it only with the next
  // message). server.close() stops accepting and closes idle keep-alive connections.
  server.close(() => void Promise.all([history.close(), presence?.close()]).then(() => process.exit(0)));
  // Bounded, below the local stack's 1.5 s before SIGKILL: a slow request or history store must not
  // hold the exit.
  setTimeout(() => server.closeAllConnections(), 800).unref();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGHUP', () => stop('SIGHUP'));
// Whoever read our output is gone (EPIPE, or EIO for a closed terminal): stop rather than fail every
// write. (pino drops its own writes on EPIPE; this is for console output.)
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => stop('output closed'));
