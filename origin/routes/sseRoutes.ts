// GET /events/:channel: Server-Sent Events held open by the GRIP proxy. A reconnect with Last-Event-ID
// (or ?lastEventId=) first gets every retained message after that id; then Pushpin streams live ones.
import { Router, type RequestHandler } from 'express';
import type { HistoryStore } from '../history/historyStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { sseEvent } from '../transports/messageFraming.ts';
import { streamHoldHandler } from './streamHold.ts';

export function sseRoutes(deps: { history: HistoryStore; requireGrip: RequestHandler; metrics: OriginMetrics }): Router {
  const router = Router();
  router.get(
    '/events/:channel',
    deps.requireGrip,
    streamHoldHandler(
      {
        transport: 'sse',
        contentType: 'text/event-stream',
        keepAlive: ':\n\n',
        frame: sseEvent,
        resumeLink: (channel, id) => `/events/${encodeURIComponent(channel)}?lastEventId=${id}`,
        resumeSources: { headers: ['last-event-id'], query: ['lastEventId'] },
      },
      deps,
    ),
  );
  return router;
}
