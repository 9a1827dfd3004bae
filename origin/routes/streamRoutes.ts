// GET /stream/:channel: HTTP streaming, one JSON message per line (NDJSON), held open by the GRIP
// proxy. `?since=<id>` first replays every retained message after that id.
// GET /stream?channel=a&channel=b: several channels on one stream (routes/multiStreamHold.ts).
import { Router, type RequestHandler } from 'express';
import { NDJSON_KEEP_ALIVE, ndjsonExpired, ndjsonLine, ndjsonPosition, ndjsonReset, RESUME_QUERY_PARAM, STREAM_CONTENT_TYPES } from '../../protocol/index.ts';
import { presenceEventsChannelFor } from '../channels/gripChannels.ts';
import { multiStreamHoldHandler, multiStreamHoldPaths, type MultiStreamHoldDeps } from './multiStreamHold.ts';
import { streamHoldHandler, streamHoldPaths, type StreamHoldSpec } from './streamHold.ts';

const NDJSON_HOLD: StreamHoldSpec = {
  transport: 'stream',
  contentType: STREAM_CONTENT_TYPES.stream,
  // A blank line: NDJSON readers skip it.
  keepAlive: NDJSON_KEEP_ALIVE,
  frame: ndjsonLine,
  resetNotice: ndjsonReset,
  positionNotice: ndjsonPosition,
  expiredNotice: ndjsonExpired,
  pathPrefix: 'stream',
  resumeSources: { query: [RESUME_QUERY_PARAM.stream] },
  presenceEvents: { channel: (c) => presenceEventsChannelFor('stream', c), linkPrefix: 'presence-stream' },
  // Position lines name their channel already.
  multi: { positionNotice: ndjsonPosition },
};

export function streamRoutes(deps: MultiStreamHoldDeps & { requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get([...multiStreamHoldPaths('stream'), ...multiStreamHoldPaths('presence-stream').slice(1)], deps.requireGrip, multiStreamHoldHandler(NDJSON_HOLD, deps));
  // With the next links of streams that take member events (`?presence=1`, see StreamHoldSpec.presenceEvents).
  router.get([...streamHoldPaths('stream'), ...streamHoldPaths('presence-stream').slice(1)], deps.requireGrip, streamHoldHandler(NDJSON_HOLD, deps));
  return router;
}
