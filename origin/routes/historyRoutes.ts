// GET /api/channels/:channel/messages?since=<id>&limit=<n>: the retained history of a channel as
// JSON, oldest first, with the channel's position (`lastId`), `next` (the `since` of the next page)
// when more are retained, and `reset` when `since` cannot be continued. Served through the cache
// path, so it says how long it may be kept.
import { Router, type Request, type Response } from 'express';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { readReplay } from '../history/replay.ts';
import { envelopeOf, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, START_ID } from '../../protocol/index.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';
import { admitSubscriber } from './subscriberAdmission.ts';

function limitOf(req: Request): number {
  const raw = req.query.limit;
  if (raw === undefined) return HISTORY_PAGE_DEFAULT;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > HISTORY_PAGE_MAX) {
    throw new RequestParamError(`limit must be a whole number from 1 to ${HISTORY_PAGE_MAX}`);
  }
  return Number(raw);
}

export function historyRoutes(deps: { history: HistoryStore; access: ChannelAccess; metrics: OriginMetrics }): Router {
  const router = Router();
  router.get('/api/channels/:channel/messages', async (req: Request, res: Response) => {
    let channel: string;
    let since: string | undefined;
    let limit: number;
    try {
      channel = channelParam(req);
      since = resumeIdOf(req, undefined, { query: ['since'] });
      limit = limitOf(req);
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const admission = await admitSubscriber(req, res, channel, 'history', deps);
    if (!admission) return;
    const replay = await readReplay(deps.history, channel, since ?? START_ID, limit);
    // History changes with every publish; a second of caching absorbs bursts of identical reads. A
    // private channel's is for its reader only.
    res
      .status(200)
      .set('Cache-Control', admission.kind === 'public' ? 'public, max-age=1' : 'private, no-store')
      .json({
        channel,
        lastId: replay.position.lastId,
        messages: replay.messages.map(envelopeOf),
        ...(replay.more ? { next: replay.upTo } : {}),
        ...(replay.plan.reset ? { reset: replay.plan.reset } : {}),
      });
  });
  return router;
}
