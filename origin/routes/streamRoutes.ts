// GET /stream/:channel: HTTP streaming, one JSON message per line (NDJSON), held open by the GRIP
// proxy. `?since=<id>` first replays every retained message after that id.
import { Router, type RequestHandler } from 'express';
import { NDJSON_KEEP_ALIVE, ndjsonExpired, ndjsonLine, ndjsonPosition, ndjsonReset, RESUME_QUERY_PARAM, STREAM_CONTENT_TYPES } from '../../protocol/index.ts';
import { presenceEventsChannelFor } from '../transports/gripChannels.ts';
import { streamHoldHandler, streamHoldPaths, type StreamHoldDeps } from './streamHold.ts';

export function streamRoutes(deps: StreamHoldDeps & { requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get(
    // With the next links of streams that take member events (`?presence=1`, see StreamHoldSpec.presenceEvents).
    [...streamHoldPaths('stream'), ...streamHoldPaths('presence-stream').slice(1)],
    deps.requireGrip,
    streamHoldHandler(
      {
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
      },
      deps,
    ),
  );
  return router;
}
