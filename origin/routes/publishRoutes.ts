// POST /api/publish: bearer-token protected; stores each message for recovery, then publishes it to
// every transport. Answers with the assigned ids. POST /api/channels/:channel/close (same token) ends
// the channel's streams and WebSockets.
import express, { type Request, type Response, Router } from 'express';
import { HistoryConflictError } from '../history/historyStore.ts';
import { CloseDeliveryError, type ChannelCloser } from '../publishing/channelCloser.ts';
import { ItemTooLargeError } from '../publishing/gripPublisher.ts';
import {
  DeliveryError,
  parsePublishBody,
  PublishInputError,
  type MessagePublisher,
} from '../publishing/messagePublisher.ts';
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
    let inputs;
    try {
      inputs = parsePublishBody(req.body);
    } catch (error) {
      if (error instanceof PublishInputError) {
        deps.metrics.publishErrors.inc({ kind: 'invalid' });
        return sendError(res, error.status, 'invalid_message', error.message);
      }
      throw error;
    }
    try {
      const messages = await deps.publisher.publish(inputs);
      deps.metrics.messagesPublished.inc({ source: 'api' }, messages.length);
      deps.log.info({ count: messages.length, channels: [...new Set(inputs.map((i) => i.channel))] }, 'published');
      res.set('Cache-Control', 'no-store').json({
        messages: messages.map((m) => ({ id: m.id, channel: m.channel, ts: m.ts })),
      });
    } catch (error) {
      if (error instanceof HistoryConflictError) {
        deps.metrics.publishErrors.inc({ kind: 'conflict' });
        return sendError(res, 409, 'id_conflict', error.message);
      }
      if (error instanceof ItemTooLargeError) {
        deps.metrics.publishErrors.inc({ kind: 'invalid' });
        return sendError(res, 413, 'too_large', error.message);
      }
      if (error instanceof DeliveryError) {
        deps.metrics.publishErrors.inc({ kind: 'delivery' });
        deps.log.error({ err: error.cause }, 'publish to GRIP proxy failed');
        return sendError(res, 502, 'publish_failed', error.message, {
          stored: error.stored.map((m) => ({ id: m.id, channel: m.channel })),
        });
      }
      throw error;
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
      const closed = await deps.channelCloser.close(channel);
      deps.metrics.channelsClosed.inc();
      deps.log.info(closed, 'channel closed');
      res.set('Cache-Control', 'no-store').json({ channel: closed.channel, lastId: closed.lastId });
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
