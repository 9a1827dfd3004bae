// GET /events/:channel: Server-Sent Events held open by the GRIP proxy. A reconnect with Last-Event-ID
// (or ?lastEventId=) first gets every retained message after that id; then Pushpin streams live ones.
// A position the history cannot continue from gets an `event: reset` first, then everything retained.
// GET /events?channel=a&channel=b: several channels on one stream (routes/multiStreamHold.ts).
import { Router, type RequestHandler } from 'express';
import { RESUME_QUERY_PARAM, SSE_KEEP_ALIVE, sseChannelPosition, sseEvent, sseExpired, ssePosition, sseReset, STREAM_CONTENT_TYPES } from '../../protocol/index.ts';
import { presenceEventsChannelFor } from '../channels/gripChannels.ts';
import { multiStreamHoldHandler, multiStreamHoldPaths, type MultiStreamHoldDeps } from './multiStreamHold.ts';
import { streamHoldHandler, streamHoldPaths, type StreamHoldSpec } from './streamHold.ts';

const SSE_HOLD: StreamHoldSpec = {
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
  multi: { positionNotice: sseChannelPosition, streamPosition: ssePosition },
};

export function sseRoutes(deps: MultiStreamHoldDeps & { requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get([...multiStreamHoldPaths('events'), ...multiStreamHoldPaths('presence-events').slice(1)], deps.requireGrip, multiStreamHoldHandler(SSE_HOLD, deps));
  // With the next links of streams that take member events (`?presence=1`, see StreamHoldSpec.presenceEvents).
  router.get([...streamHoldPaths('events'), ...streamHoldPaths('presence-events').slice(1)], deps.requireGrip, streamHoldHandler(SSE_HOLD, deps));
  return router;
}
