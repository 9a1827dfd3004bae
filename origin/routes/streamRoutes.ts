// GET /stream/:channel: HTTP streaming, one JSON message per line (NDJSON), held open by the GRIP
// proxy. `?since=<id>` first replays every retained message after that id.
import { Router, type RequestHandler } from 'express';
import { NDJSON_KEEP_ALIVE, ndjsonExpired, ndjsonLine, ndjsonPosition, ndjsonReset, RESUME_QUERY_PARAM, STREAM_CONTENT_TYPES } from '../../protocol/index.ts';
import { streamHoldHandler, streamHoldPaths, type StreamHoldDeps } from './streamHold.ts';

export function streamRoutes(deps: StreamHoldDeps & { requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get(
    streamHoldPaths('stream'),
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
      },
      deps,
    ),
  );
  return router;
}
