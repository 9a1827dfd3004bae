// GET /poll/:channel?since=<id>: long-poll. Answers at once with the retained messages after `since`
// when there are any; otherwise the GRIP proxy holds the request until a message is published (the
// published http-response item is the answer) or the timeout passes (this body: no messages).
import { Channel, GripInstruct } from '@fanoutio/grip';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { HistoryStore } from '../history/historyStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { gripChannelFor } from '../transports/gripChannels.ts';
import { pollBody } from '../transports/messageFraming.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';
import { replayPosition } from './replayPosition.ts';

export function pollRoutes(deps: {
  history: HistoryStore;
  requireGrip: RequestHandler;
  metrics: OriginMetrics;
  timeoutSeconds: number;
}): Router {
  const router = Router();
  router.get('/poll/:channel', deps.requireGrip, async (req: Request, res: Response) => {
    let channel: string;
    let since: string | undefined;
    try {
      channel = channelParam(req);
      since = resumeIdOf(req, gripChannelFor('poll', channel), { query: ['since'] });
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const { replay, seenUpTo } = await replayPosition(deps.history, channel, since);
    res.set({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    if (replay.length > 0) {
      deps.metrics.messagesReplayed.inc({ transport: 'poll' }, replay.length);
      res.status(200).send(pollBody(replay));
      return;
    }
    // prev-id: if Pushpin already saw a newer message on the channel than the one we read, it retries
    // this request at once instead of holding, so a message published meanwhile is not missed.
    const instruct = new GripInstruct(new Channel(gripChannelFor('poll', channel), seenUpTo));
    instruct.setHoldLongPoll(deps.timeoutSeconds);
    deps.metrics.holdsOpened.inc({ transport: 'poll' });
    res.status(200).set(instruct.toHeaders()).send(pollBody([]));
  });
  return router;
}
