// GET /events/:channel: Server-Sent Events held open by the GRIP proxy. A reconnect with Last-Event-ID
// (or ?lastEventId=) first gets every retained message after that id; then Pushpin streams live ones.
import { GripInstruct, Channel } from '@fanoutio/grip';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { isMessageId, type HistoryStore } from '../history/historyStore.ts';
import { gripChannelFor, isValidChannelName, CHANNEL_NAME_RULE } from '../transports/gripChannels.ts';
import { sseEvent } from '../transports/messageFraming.ts';

const KEEP_ALIVE_SECONDS = 20;

function badRequest(res: Response, message: string): void {
  res.status(400).set('Cache-Control', 'no-store').json({ error: 'bad_request', message });
}

/** The id the client has seen up to: the Last-Event-ID header wins over the query parameter. */
export function resumeIdOf(req: Request): string | undefined | Error {
  const header = req.get('last-event-id');
  const query = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
  const value = header !== undefined && header !== '' ? header : query;
  if (value === undefined || value === '') return undefined;
  return isMessageId(value) ? value : new Error('Last-Event-ID / lastEventId must be a message id such as "42"');
}

export function sseRoutes(deps: { history: HistoryStore; requireGrip: RequestHandler }): Router {
  const router = Router();
  router.get('/events/:channel', deps.requireGrip, async (req: Request, res: Response) => {
    const channel = String(req.params.channel);
    if (!isValidChannelName(channel)) return badRequest(res, `channel must be ${CHANNEL_NAME_RULE}`);
    const resumeId = resumeIdOf(req);
    if (resumeId instanceof Error) return badRequest(res, resumeId.message);

    // Read the position before the replay: a message published in between is then either in the
    // replay or arrives live, and prev-id lets Pushpin notice and fill any gap via the next link.
    const lastId = await deps.history.lastId(channel);
    const replay = resumeId === undefined ? [] : await deps.history.readAfter(channel, resumeId);
    const seenUpTo = replay.at(-1)?.id ?? resumeId ?? lastId;

    const instruct = new GripInstruct(new Channel(gripChannelFor('sse', channel), seenUpTo ?? null));
    instruct.setHoldStream();
    instruct.setKeepAlive(':\n\n', KEEP_ALIVE_SECONDS);
    if (seenUpTo !== undefined) {
      instruct.setNextLink(`/events/${encodeURIComponent(channel)}?lastEventId=${seenUpTo}`);
    }
    res
      .status(200)
      .set(instruct.toHeaders())
      .set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-store' })
      .send(replay.map(sseEvent).join(''));
  });
  return router;
}
