// A GRIP stream hold (SSE and NDJSON): replay what the client missed in the body, then let the proxy
// keep the response open on the transport's channels. The history channel carries prev-id and a
// Grip-Link next, so when Pushpin sees one of the origin's items whose prev-id is not the last id it
// delivered (a gap), it fetches the link and appends what is missing itself. The live channel carries
// no prev-id, so anything published straight to the proxy reaches the client too.
import { Channel, GripInstruct } from '@fanoutio/grip';
import type { Request, Response } from 'express';
import type { ChannelMessage, HistoryStore } from '../history/historyStore.ts';
import { readReplay, replayPage } from '../history/replay.ts';
import { PRESENCE_EVENTS_QUERY_PARAM, type ContinuityReset } from '../../protocol/index.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { historyChannelFor, liveChannelFor, type Transport } from '../transports/gripChannels.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';
import { admitStreamSubscriber, type Admission } from './subscriberAdmission.ts';

/** Pushpin accepts at most 100000 bytes of body with GRIP instructions; replay pages stay below it. */
export const STREAM_REPLAY_BUDGET_BYTES = 90_000;
/** Messages read per page (a page may hold fewer when they are large). */
export const STREAM_REPLAY_PAGE_SIZE = 100;

/** Pushpin sends the keep-alive after this many idle seconds; below common 30-60 s proxy timeouts. */
export const STREAM_KEEP_ALIVE_SECONDS = 20;

export interface StreamHoldSpec {
  transport: Extract<Transport, 'sse' | 'stream'>;
  contentType: string;
  keepAlive: string;
  frame: (message: ChannelMessage) => string;
  /** The notice that the client's position could not be continued. */
  resetNotice: (channel: string, reset: ContinuityReset) => string;
  /** Something to send when no message is, so the client learns its position (SSE: an id-only block). */
  positionNotice: (channel: string, id: string) => string;
  /** The last thing a stream on a private channel gets when its token expired (then it ends). */
  expiredNotice: (channel: string) => string;
  /** The route's first path segment: `/<pathPrefix>/<channel>` (`events`, `stream`). */
  pathPrefix: string;
  /** Where a client gives its position (the link's own, in the path, always comes first). */
  resumeSources: { headers?: string[]; query: string[] };
  /**
   * Member events for a stream opened with `?presence=1`: the hold also subscribes to this GRIP
   * channel, and its next links go below `linkPrefix` instead of `pathPrefix`, so the hold keeps the
   * events through every link (the query is not part of a link: see streamHoldPaths).
   */
  presenceEvents?: { channel: (channel: string) => string; linkPrefix: string };
}


/**
 * The paths a stream hold answers: the client's, and the next links' forms. A next link carries its
 * position (and on a private channel its grant) in the path, never in the query: Pushpin shares the
 * next-link requests of sessions whose path and Grip-Last headers match ("auto-share" ignores the
 * query, on 1.36 as on later versions), so with the position in the query a session paging through a
 * replay could be handed another session's page, skipping or doubling messages.
 */
export function streamHoldPaths(pathPrefix: string): string[] {
  return [`/${pathPrefix}/:channel`, `/${pathPrefix}/:channel/after/:after`, `/${pathPrefix}/:channel/after/:after/:grant`];
}

function resumeLink(spec: StreamHoldSpec, channel: string, id: string, events: boolean): string {
  const prefix = events && spec.presenceEvents ? spec.presenceEvents.linkPrefix : spec.pathPrefix;
  return `/${prefix}/${encodeURIComponent(channel)}/after/${id}`;
}

/**
 * The next link, with the hold's link grant on a private channel. Its timeout makes Pushpin fetch it
 * when the token expires (a second later at most), and the origin then ends the stream.
 */
function nextLinkOf(spec: StreamHoldSpec, access: ChannelAccess, admission: Admission, channel: string, id: string, events: boolean): { uri: string; timeout: number } {
  const uri = resumeLink(spec, channel, id, events);
  if (admission.kind === 'public' || !access.linkGrants) return { uri, timeout: 0 };
  const grant = access.linkGrants.sign({ transport: spec.transport, channel }, admission.exp);
  // In the path too (see streamHoldPaths): sessions sharing a link must share the grant.
  return { uri: `${uri}/${grant}`, timeout: Math.max(1, admission.exp - access.nowSeconds()) };
}

export function streamHoldHandler(spec: StreamHoldSpec, deps: { history: HistoryStore; metrics: OriginMetrics; access: ChannelAccess }) {
  const eventsLink = spec.presenceEvents ? `/${spec.presenceEvents.linkPrefix}/` : undefined;
  return async (req: Request, res: Response): Promise<void> => {
    // Asked in the client's query, or kept by a next link of such a stream.
    const events = eventsLink !== undefined && (req.path.startsWith(eventsLink) || req.query[PRESENCE_EVENTS_QUERY_PARAM] === '1');
    let channel: string;
    let resumeId: string | undefined;
    try {
      channel = channelParam(req);
      resumeId = resumeIdOf(req, historyChannelFor(spec.transport, channel), { params: ['after'], ...spec.resumeSources });
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const admission = await admitStreamSubscriber(req, res, channel, spec.transport, deps);
    if (!admission) return;
    res.set({ 'Content-Type': spec.contentType, 'Cache-Control': 'no-cache, no-store' });
    if (admission.kind === 'expired') {
      // Pushpin followed the link of a hold whose token has expired: a last notice, no hold, no link,
      // so the stream ends; the client comes back with a fresh token and its last id.
      deps.metrics.subscriptionsExpired.inc({ transport: spec.transport });
      res.status(200).send(spec.expiredNotice(channel));
      return;
    }
    const replay = await readReplay(deps.history, channel, resumeId, STREAM_REPLAY_PAGE_SIZE);
    const frames = new Map(replay.messages.map((m) => [m.id, spec.frame(m)]));
    const { page, complete } = replayPage(replay.messages, (m) => Buffer.byteLength(frames.get(m.id)!), STREAM_REPLAY_BUDGET_BYTES);
    const upTo = complete ? replay.upTo : page.at(-1)!.id;
    const parts = page.map((m) => frames.get(m.id)!);
    if (replay.plan.reset) parts.unshift(spec.resetNotice(channel, replay.plan.reset));
    if (page.length === 0) parts.push(spec.positionNotice(channel, upTo));
    const body = parts.join('');
    if (page.length > 0) deps.metrics.messagesReplayed.inc({ transport: spec.transport }, page.length);
    res.status(200);
    const next = nextLinkOf(spec, deps.access, admission, channel, upTo, events);
    if (!complete || replay.more) {
      // More retained than one page: no hold yet, only the next link, which Pushpin follows at once
      // and appends to this same response, until a page reaches the channel's position and holds.
      res.set('Grip-Link', `<${next.uri}>; rel=next`).send(body);
      return;
    }
    const instruct = new GripInstruct([
      new Channel(historyChannelFor(spec.transport, channel), upTo),
      new Channel(liveChannelFor(spec.transport, channel)),
      ...(events && spec.presenceEvents ? [new Channel(spec.presenceEvents.channel(channel))] : []),
    ]);
    instruct.setHoldStream();
    instruct.setKeepAlive(spec.keepAlive, STREAM_KEEP_ALIVE_SECONDS);
    instruct.setNextLink(next.uri, next.timeout);
    deps.metrics.holdsOpened.inc({ transport: spec.transport });
    res.set(instruct.toHeaders()).send(body);
  };
}
