// Assembles the origin from its parts. Routes stay thin; the work lives in history/, publishing/,
// websocket/ and grip/.
import type { RequestListener } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import type { ChannelAccess } from './access/channelAccess.ts';
import type { ExpiryCloser } from './access/expiryCloser.ts';
import type { StreamExpiryCloser } from './access/streamExpiryCloser.ts';
import type { OriginConfig } from './config/originConfig.ts';
import { requireGripSignature } from './grip/requireGripSignature.ts';
import type { GripSignatureVerifier } from './grip/gripSignature.ts';
import type { HistoryStore } from './history/historyStore.ts';
import type { Logger } from './observability/logger.ts';
import type { OriginMetrics } from './observability/metrics.ts';
import type { Readiness } from './observability/readiness.ts';
import type { ChannelCloser } from './publishing/channelCloser.ts';
import type { PresenceTracker } from './presence/presenceTracker.ts';
import type { MessagePublisher } from './publishing/messagePublisher.ts';
import { historyRoutes } from './routes/historyRoutes.ts';
import { metricsRoutes } from './routes/metricsRoutes.ts';
import { pollRoutes } from './routes/pollRoutes.ts';
import { presenceRoutes } from './routes/presenceRoutes.ts';
import { describeFailedRequest } from './routes/jsonAnswer.ts';
import { isPublishRequest, publishRoutes } from './routes/publishRoutes.ts';
import { sseRoutes } from './routes/sseRoutes.ts';
import { staticRoutes } from './routes/staticRoutes.ts';
import { streamRoutes } from './routes/streamRoutes.ts';
import { wsRoutes } from './routes/wsRoutes.ts';
import type { WsStateSeal } from './websocket/wsStateSeal.ts';

export interface OriginDeps {
  config: OriginConfig;
  verifyGripSig: GripSignatureVerifier;
  history: HistoryStore;
  publisher: MessagePublisher;
  channelCloser: ChannelCloser;
  log: Logger;
  metrics: OriginMetrics;
  access: ChannelAccess;
  expiryCloser: ExpiryCloser;
  streamExpiryCloser: StreamExpiryCloser;
  readiness: Readiness;
  stateSeal: WsStateSeal;
  /** Occupancy and presence (undefined when PRESENCE_TRACKING=false). */
  presence?: PresenceTracker;
}

/**
 * The origin's request listener: Express for every route, except that POST /api/publish, the busiest
 * at chat scale, is taken on Node's own request first (the same handler the router has for it).
 */
export function createOriginApp(deps: OriginDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const { config, history, metrics, log, access } = deps;
  const requireGrip = requireGripSignature(deps.verifyGripSig, log, (reason) =>
    metrics.signatureFailures.inc({ reason }),
  );

  // Liveness: the process answers. Readiness: it can store and publish now (Redis, the proxy).
  app.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.report();
    res
      .status(report.ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
  });
  // The publish API first: at chat scale it is the busiest route, and every router before it costs a
  // path match per request (its exact path does not reach Express at all: see below).
  const publish = publishRoutes({ publisher: deps.publisher, channelCloser: deps.channelCloser, publishToken: config.publishToken, log, metrics });
  app.use(publish.router);
  // Realtime: every route checks Grip-Sig before anything else (body included).
  // Streams of several channels hold up to the proxy's subscriptions per connection, as a WebSocket does.
  const streams = { history, requireGrip, metrics, access, streamExpiry: deps.streamExpiryCloser, maxSubscriptions: config.wsMaxSubscriptions };
  app.use(sseRoutes(streams));
  app.use(streamRoutes(streams));
  app.use(pollRoutes({ history, requireGrip, metrics, access, timeoutSeconds: config.longPollTimeoutSeconds }));
  app.use(
    wsRoutes({
      history,
      publisher: deps.publisher,
      requireGrip,
      metrics,
      log,
      allowClientPublish: config.allowClientPublish,
      maxSubscriptions: config.wsMaxSubscriptions,
      access,
      expiryCloser: deps.expiryCloser,
      grantKeepAliveSeconds: config.wsGrantKeepAliveSeconds,
      stateSeal: deps.stateSeal,
      ...(deps.presence ? { presence: { tracker: deps.presence, keepAliveSeconds: config.presence.keepAliveSeconds } } : {}),
    }),
  );
  // Through the cache (the publish API is above).
  app.use(staticRoutes());
  app.use(historyRoutes({ history, access, metrics }));
  app.use(presenceRoutes({ presence: deps.presence, access, publishToken: config.publishToken, metrics, leaseSeconds: config.presence.leaseSeconds }));
  app.use(metricsRoutes({ metrics, metricsToken: config.metricsToken }));

  app.use((_req, res) => {
    res.status(404).set('Cache-Control', 'no-store').json({ error: 'not_found', message: 'no such endpoint' });
  });
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    const answer = describeFailedRequest(error);
    if (answer.status >= 500) deps.log.error({ err: error, path: req.path }, 'request failed');
    res.status(answer.status).set('Cache-Control', 'no-store').json(answer.body);
  };
  app.use(onError);
  return (req, res) => (isPublishRequest(req) ? publish.handle(req, res) : app(req, res));
}
