// GET /stream/:channel: HTTP streaming, one JSON message per line (NDJSON), held open by the GRIP
// proxy. `?since=<id>` first replays every retained message after that id.
import { Router, type RequestHandler } from 'express';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { ndjsonExpired, ndjsonLine, ndjsonReset } from '../../protocol/index.ts';
import { streamHoldHandler, streamHoldPaths } from './streamHold.ts';

export function streamRoutes(deps: {
  history: HistoryStore;
  requireGrip: RequestHandler;
  metrics: OriginMetrics;
  access: ChannelAccess;
}): Router {
  const router = Router();
  router.get(
    streamHoldPaths('stream'),
    deps.requireGrip,
    streamHoldHandler(
      {
        transport: 'stream',
        contentType: 'application/x-ndjson',
        // A blank line: NDJSON readers skip it.
        keepAlive: '\n',
        frame: ndjsonLine,
        resetNotice: ndjsonReset,
        expiredNotice: ndjsonExpired,
        pathPrefix: 'stream',
        resumeSources: { query: ['since'] },
      },
      deps,
    ),
  );
  return router;
}
