// POST /api/publish: bearer-token protected; stores each message for recovery, then publishes it to
// every transport. Answers with the assigned ids. POST /api/channels/:channel/close (same token) ends
// the channel's streams and WebSockets.
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { CloseDeliveryError, type ChannelCloser } from '../publishing/channelCloser.ts';
import type { MessagePublisher } from '../publishing/messagePublisher.ts';
import { describePublishFailure } from '../publishing/publishFailure.ts';
import { parsePublishBody } from '../publishing/publishInput.ts';
import type { Logger } from '../observability/logger.ts';
import { createPublishSummary } from '../observability/publishSummary.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { requireBearerToken } from './bearerToken.ts';
import { channelParam, RequestParamError, sendBadRequest } from './realtimeRequest.ts';

function sendError(res: Response, status: number, error: string, message: string, extra: object = {}): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, message, ...extra });
}

export function publishRoutes(deps: {
  publisher: MessagePublisher;
  channelCloser: ChannelCloser;
  publishToken: string;
  log: Logger;
  metrics: OriginMetrics;
}): Router {
  const router = Router();
  // 1000 items of up to 64 KiB each would be 64 MiB; cap a request at 8 MiB.
  const jsonBody = express.json({ limit: '8mb', type: () => true });
  const requireToken = requireBearerToken(deps.publishToken, 'publish', 'PUBLISH_TOKEN');

  const requireJson = (req: Request, res: Response, next: NextFunction): void => {
    if (!req.is('application/json')) {
      sendError(res, 415, 'unsupported_media_type', 'send the body as application/json');
      return;
    }
    next();
  };

  // The hot path at chat scale: one route, per publish no info line (a summary a minute instead), no
  // ETag hash of the answer, the metric's label child looked up once.
  const summary = createPublishSummary(deps.log);
  const apiPublished = deps.metrics.messagesPublished.labels('api');
  router.post('/api/publish', requireToken, requireJson, jsonBody, async (req: Request, res: Response) => {
    try {
      const inputs = parsePublishBody(req.body);
      const messages = await deps.publisher.publish(inputs);
      let fresh = 0;
      const body = JSON.stringify({
        messages: messages.map((m) => {
          if (m.duplicate) return { id: m.id, channel: m.channel, ts: m.ts, duplicate: true };
          fresh++;
          return { id: m.id, channel: m.channel, ts: m.ts };
        }),
      });
      apiPublished.inc(fresh);
      const channels = inputs.length === 1 ? [inputs[0]!.channel] : new Set(inputs.map((i) => i.channel));
      summary.record(fresh, messages.length - fresh, channels);
      if (deps.log.isLevelEnabled('debug')) deps.log.debug({ count: fresh, duplicates: messages.length - fresh, channels: [...channels] }, 'published');
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) }).end(body);
    } catch (error) {
      const failure = describePublishFailure(error);
      if (!failure) throw error;
      deps.metrics.publishErrors.inc({ kind: failure.kind });
      if (failure.status >= 500) deps.log.error({ err: error, code: failure.code }, 'publish failed');
      if (failure.retryAfterSeconds !== undefined) res.set('Retry-After', String(failure.retryAfterSeconds));
      return sendError(res, failure.status, failure.code, failure.message, {
        ...(failure.status === 400 || failure.status === 413 ? {} : { stored: failure.stored }),
        ...(failure.index !== undefined ? { index: failure.index } : {}),
        ...(failure.maybeStored ? { maybeStored: true } : {}),
      });
    }
  });

  router.post('/api/channels/:channel/close', requireToken, async (req: Request, res: Response) => {
    let channel: string;
    try {
      channel = channelParam(req);
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    try {
      await deps.channelCloser.close(channel);
      deps.metrics.channelsClosed.inc();
      deps.log.info({ channel }, 'channel closed');
      res.set('Cache-Control', 'no-store').json({ channel, closed: true });
    } catch (error) {
      if (error instanceof CloseDeliveryError) {
        deps.metrics.publishErrors.inc({ kind: 'delivery' });
        deps.log.error({ err: error.cause, channel }, 'publishing a channel close to the GRIP proxy failed');
        return sendError(res, 502, 'publish_failed', error.message);
      }
      throw error;
    }
  });
  return router;
}
