// GET /api/channels/:channel/messages?since=<id>&limit=<n>: the retained history of a channel as
// JSON, oldest first. Served through the cache path, so it says how long it may be kept.
import { Router, type Request, type Response } from 'express';
import type { HistoryStore } from '../history/historyStore.ts';
import { envelopeOf } from '../transports/messageFraming.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';

export const HISTORY_PAGE_DEFAULT = 100;
export const HISTORY_PAGE_MAX = 1000;

function limitOf(req: Request): number {
  const raw = req.query.limit;
  if (raw === undefined) return HISTORY_PAGE_DEFAULT;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > HISTORY_PAGE_MAX) {
    throw new RequestParamError(`limit must be a whole number from 1 to ${HISTORY_PAGE_MAX}`);
  }
  return Number(raw);
}

export function historyRoutes(deps: { history: HistoryStore }): Router {
  const router = Router();
  router.get('/api/channels/:channel/messages', async (req: Request, res: Response) => {
    let channel: string;
    let since: string | undefined;
    let limit: number;
    try {
      channel = channelParam(req);
      since = resumeIdOf(req, '', { query: ['since'] });
      limit = limitOf(req);
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const lastId = await deps.history.lastId(channel);
    const messages = await deps.history.readAfter(channel, since, limit);
    // History changes with every publish; a second of caching absorbs bursts of identical reads.
    res
      .status(200)
      .set('Cache-Control', 'public, max-age=1')
      .json({ channel, lastId: lastId ?? null, messages: messages.map(envelopeOf) });
  });
  return router;
}
