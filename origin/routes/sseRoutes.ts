// GET /events/:channel: Server-Sent Events held open by the GRIP proxy. A reconnect with Last-Event-ID
// (or ?lastEventId=) first gets every retained message after that id; then Pushpin streams live ones.
// A position the history cannot continue from gets an `event: reset` first, then everything retained.
import { Router, type RequestHandler } from 'express';
import { RESUME_QUERY_PARAM, SSE_KEEP_ALIVE, sseEvent, sseExpired, ssePosition, sseReset, STREAM_CONTENT_TYPES } from '../../protocol/index.ts';
import { presenceEventsChannelFor } from '../transports/gripChannels.ts';
import { streamHoldHandler, streamHoldPaths, type StreamHoldDeps } from './streamHold.ts';

export function sseRoutes(deps: StreamHoldDeps & { requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get(
    // With the next links of streams that take member events (`?presence=1`, see StreamHoldSpec.presenceEvents).
    [...streamHoldPaths('events'), ...streamHoldPaths('presence-events').slice(1)],
    deps.requireGrip,
    streamHoldHandler(
      {
        transport: 'sse',
        contentType: STREAM_CONTENT_TYPES.sse,
        keepAlive: SSE_KEEP_ALIVE,
        frame: sseEvent,
        resetNotice: sseReset,
        expiredNotice: sseExpired,
        positionNotice: (_channel, id) => ssePosition(id),
        pathPrefix: 'events',
        resumeSources: { headers: ['last-event-id'], query: [RESUME_QUERY_PARAM.sse] },
        presenceEvents: { channel: (c) => presenceEventsChannelFor('sse', c), linkPrefix: 'presence-events' },
      },
      deps,
    ),
  );
  return router;
}
