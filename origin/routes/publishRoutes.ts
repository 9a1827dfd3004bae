// POST /api/publish: bearer-token protected; stores each message for recovery, then publishes it to
// every transport. Answers with the assigned ids. POST /api/channels/:channel/close (same token) ends
// the channel's streams and WebSockets.
import express, { type Request, type Response, Router } from 'express';
import { CloseDeliveryError, type ChannelCloser } from '../publishing/channelCloser.ts';
import type { MessagePublisher } from '../publishing/messagePublisher.ts';
import { describePublishFailure } from '../publishing/publishFailure.ts';
import { parsePublishBody } from '../publishing/publishInput.ts';
import type { Logger } from '../observability/logger.ts';
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

  router.post('/api/publish', requireToken, (req: Request, res: Response, next) => {
    if (!req.is('application/json')) {
      sendError(res, 415, 'unsupported_media_type', 'send the body as application/json');
      return;
    }
    next();
  });

  router.post('/api/publish', jsonBody, async (req: Request, res: Response) => {
    try {
      const inputs = parsePublishBody(req.body);
      const messages = await deps.publisher.publish(inputs);
      const fresh = messages.filter((m) => !m.duplicate).length;
      deps.metrics.messagesPublished.inc({ source: 'api' }, fresh);
      deps.log.info({ count: fresh, duplicates: messages.length - fresh, channels: [...new Set(inputs.map((i) => i.channel))] }, 'published');
      res.set('Cache-Control', 'no-store').json({
        messages: messages.map((m) => ({ id: m.id, channel: m.channel, ts: m.ts, ...(m.duplicate ? { duplicate: true } : {}) })),
      });
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
