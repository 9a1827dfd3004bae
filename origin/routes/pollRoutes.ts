// GET /poll/:channel?since=<id>: long-poll. Answers at once with the retained messages after `since`
// when there are any (or when `since` cannot be continued: with a `reset`); otherwise the GRIP proxy
// holds the request until a message is published (the published http-response item is the answer) or
// the timeout passes (this body: no messages). Every body the origin builds says where to poll from next.
import { Channel, GripInstruct } from '@fanoutio/grip';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import { readReplay } from '../history/replay.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { historyChannelFor, liveChannelFor } from '../channels/gripChannels.ts';
import { POLL_PAGE_SIZE, pollBody, RESUME_QUERY_PARAM } from '../../protocol/index.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';
import { admitSubscriber } from './subscriberAdmission.ts';

export function pollRoutes(deps: {
  history: HistoryStore;
  requireGrip: RequestHandler;
  metrics: OriginMetrics;
  timeoutSeconds: number;
  access: ChannelAccess;
}): Router {
  const router = Router();
  router.get('/poll/:channel', deps.requireGrip, async (req: Request, res: Response) => {
    let channel: string;
    let since: string | undefined;
    try {
      channel = channelParam(req);
      since = resumeIdOf(req, historyChannelFor('poll', channel), { query: [RESUME_QUERY_PARAM.poll] });
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const admission = await admitSubscriber(req, res, channel, 'poll', deps);
    if (!admission) return;
    const replay = await readReplay(deps.history, channel, since, POLL_PAGE_SIZE);
    const extras = { lastId: replay.upTo, ...(replay.plan.reset ? { reset: replay.plan.reset } : {}) };
    res.set({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    if (replay.messages.length > 0 || replay.plan.reset) {
      deps.metrics.messagesReplayed.inc({ transport: 'poll' }, replay.messages.length);
      res.status(200).send(pollBody(replay.messages, undefined, extras));
      return;
    }
    // prev-id: a message published between this read and the hold reaching the proxy is not lost: the
    // next one does not follow the hold's prev-id, so Pushpin fetches again and gets both; without a
    // next message, the poll after the timeout gets it.
    const instruct = new GripInstruct([
      new Channel(historyChannelFor('poll', channel), replay.upTo),
      new Channel(liveChannelFor('poll', channel)),
    ]);
    // A hold on a private channel ends when its token does (Pushpin's 5 s minimum aside): a retry of
    // the request after that carries the expired token and gets its 403.
    const timeout = admission.kind === 'granted' ? Math.min(deps.timeoutSeconds, Math.max(1, admission.exp - deps.access.nowSeconds())) : deps.timeoutSeconds;
    instruct.setHoldLongPoll(timeout);
    deps.metrics.holdsOpened.inc({ transport: 'poll' });
    res.status(200).set(instruct.toHeaders()).send(pollBody([], [], extras));
  });
  return router;
}
