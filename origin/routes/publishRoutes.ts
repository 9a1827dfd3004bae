// POST /api/publish: bearer-token protected; stores each message for recovery, then publishes it to
// every transport. Answers with the assigned ids. POST /api/channels/:channel/close (same token) ends
// the channel's streams and WebSockets.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type Response, Router } from 'express';
import typeis from 'type-is';
import { CloseDeliveryError, type ChannelCloser } from '../publishing/channelCloser.ts';
import type { MessagePublisher } from '../publishing/messagePublisher.ts';
import { describePublishFailure } from '../publishing/publishFailure.ts';
import { parsePublishBody } from '../publishing/publishInput.ts';
import type { Logger } from '../observability/logger.ts';
import { createPublishSummary } from '../observability/publishSummary.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { bearerTokenGuard, requireGuard } from './bearerToken.ts';
import { describeFailedRequest, sendJson } from './jsonAnswer.ts';
import { channelParam, RequestParamError, sendBadRequest } from './realtimeRequest.ts';

function sendError(res: ServerResponse, status: number, error: string, message: string, extra: object = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error, message, ...extra }, headers);
}

export interface PublishRoutes {
  router: Router;
  /**
   * POST /api/publish on Node's own request and response, ahead of Express: the same guard, body
   * rules (body-parser's, so charsets, gzip/deflate/br bodies and the size cap are read alike) and
   * answers as the router's route, without Express's routing and its request and response wrappers,
   * about a fifth of the origin's CPU for a one-message publish (benchmarks.md, The origin's publish cost).
   */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Whether the publish API's own path takes the request (anything else goes through Express, which routes it alike). */
export function isPublishRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && req.url === '/api/publish';
}

export function publishRoutes(deps: {
  publisher: MessagePublisher;
  channelCloser: ChannelCloser;
  publishToken: string;
  log: Logger;
  metrics: OriginMetrics;
}): PublishRoutes {
  const router = Router();
  // 1000 items of up to 64 KiB each would be 64 MiB; cap a request at 8 MiB.
  const jsonBody = express.json({ limit: '8mb', type: () => true });
  const guard = bearerTokenGuard(deps.publishToken, 'publish', 'PUBLISH_TOKEN');
  const requireToken = requireGuard(guard);

  const answerFailedRequest = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    const answer = describeFailedRequest(error);
    if (answer.status >= 500) deps.log.error({ err: error, path: req.url }, 'request failed');
    if (!res.headersSent) sendJson(res, answer.status, answer.body);
    else res.destroy();
  };

  // The hot path at chat scale: per publish no info line (a summary a minute instead), no ETag hash
  // of the answer, the metric's label child looked up once.
  const summary = createPublishSummary(deps.log);
  const apiPublished = deps.metrics.messagesPublished.labels('api');
  const publish = async (body: unknown, res: ServerResponse): Promise<void> => {
    try {
      const inputs = parsePublishBody(body);
      const messages = await deps.publisher.publish(inputs);
      let fresh = 0;
      const answer = {
        messages: messages.map((m) => {
          if (m.duplicate) return { id: m.id, channel: m.channel, ts: m.ts, duplicate: true };
          fresh++;
          return { id: m.id, channel: m.channel, ts: m.ts };
        }),
      };
      apiPublished.inc(fresh);
      const channels = inputs.length === 1 ? [inputs[0]!.channel] : new Set(inputs.map((i) => i.channel));
      summary.record(fresh, messages.length - fresh, channels);
      if (deps.log.isLevelEnabled('debug')) deps.log.debug({ count: fresh, duplicates: messages.length - fresh, channels: [...channels] }, 'published');
      sendJson(res, 200, answer);
    } catch (error) {
      const failure = describePublishFailure(error);
      if (!failure) throw error;
      deps.metrics.publishErrors.inc({ kind: failure.kind });
      if (failure.status >= 500) deps.log.error({ err: error, code: failure.code }, 'publish failed');
      const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'Retry-After': String(failure.retryAfterSeconds) } : {};
      sendError(
        res,
        failure.status,
        failure.code,
        failure.message,
        {
          ...(failure.status === 400 || failure.status === 413 ? {} : { stored: failure.stored }),
          ...(failure.index !== undefined ? { index: failure.index } : {}),
          ...(failure.maybeStored ? { maybeStored: true } : {}),
        },
        headers,
      );
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!guard.accepts(req)) return guard.refuse(res);
    // Express's `req.is`: a request without a body, or of another media type, is refused before reading it.
    if (!typeis(req, ['application/json'])) return sendError(res, 415, 'unsupported_media_type', 'send the body as application/json');
    jsonBody(req, res, (error?: unknown) => {
      if (error) return answerFailedRequest(req, res, error);
      publish((req as IncomingMessage & { body?: unknown }).body, res).catch((failure: unknown) => answerFailedRequest(req, res, failure));
    });
  };
  router.post('/api/publish', (req: Request, res: Response) => handle(req, res));

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
  return { router, handle };
}
