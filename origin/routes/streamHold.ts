// A GRIP stream hold (SSE and NDJSON): replay what the client missed in the body, then let the proxy
// keep the response open on the transport's channels: the history channel, where the origin publishes
// what it stores, and the live channel, where anything published straight to the proxy arrives.
//
// The hold carries no prev-id and no next link. With them, Pushpin repaired a gap in the origin's
// sequence itself (it fetched the link), but Pushpin 1.36 also updates every hold of a channel 1 s
// after the channel's first subscription, through one limiter of 10 next-link fetches a second for the
// whole handler, and holds back a stream's messages until its fetch returns: with hundreds of fresh
// channels, messages waited tens of seconds (test/recovery/freshChannels.e2e.test.ts). A hold with no link has
// nothing to update. Instead every stored message names the id it follows (`prev`), in the replay
// here and in the published items, and the client applies the gap rule: a message whose `prev` is not
// its last id means the proxy dropped something, and the client comes back from its last id (with
// Last-Event-ID or ?since=). A replay longer than one page still goes out through next links (no hold
// yet: Pushpin follows those at once, not through the limiter). A private stream also holds expiry
// channels, on which the origin ends it when its token expires (access/streamExpiryCloser.ts).
import { Channel, GripInstruct } from '@fanoutio/grip';
import type { Request, Response } from 'express';
import type { ChannelMessage, HistoryStore } from '../history/historyStore.ts';
import { readReplay, replayPage } from '../history/replay.ts';
import { withPrev, envelopeJson, PRESENCE_EVENTS_QUERY_PARAM, type ContinuityReset } from '../../protocol/index.ts';
import type { StreamExpiryCloser } from '../access/streamExpiryCloser.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { historyChannelFor, liveChannelFor, type Transport } from '../channels/gripChannels.ts';
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
  /** The message's framing; `json` is its envelope JSON when the caller has it (with `prev`, say). */
  frame: (message: ChannelMessage, json?: string) => string;
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
  /** On a stream of several channels (routes/multiStreamHold.ts). */
  multi: {
    /** Where one channel stands when its replay sends no message (the single stream's positionNotice names no channel on SSE). */
    positionNotice: (channel: string, id: string) => string;
    /** The whole stream's position after each page (SSE: an id-only block, what EventSource's Last-Event-ID becomes). */
    streamPosition?: (position: string) => string;
  };
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
 * The link to the next replay page, with a link grant on a private channel: Pushpin fetches it at once
 * without the client's headers, so the link has to carry the authorization.
 */
function nextPageLink(spec: StreamHoldSpec, access: ChannelAccess, admission: Admission, channel: string, id: string, events: boolean): string {
  const uri = resumeLink(spec, channel, id, events);
  if (admission.kind === 'public' || !access.linkGrants) return uri;
  // In the path too (see streamHoldPaths): sessions sharing a link must share the grant.
  return `${uri}/${access.linkGrants.sign({ transport: spec.transport, channel }, admission.exp)}`;
}

export interface StreamHoldDeps {
  history: HistoryStore;
  metrics: OriginMetrics;
  access: ChannelAccess;
  streamExpiry: StreamExpiryCloser;
}

export function streamHoldHandler(spec: StreamHoldSpec, deps: StreamHoldDeps) {
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
      // Pushpin followed the link to the next replay page after the token expired: a last notice, no
      // hold, no link, so the stream ends; the client comes back with a fresh token and its last id.
      deps.metrics.subscriptionsExpired.inc({ transport: spec.transport });
      res.status(200).send(spec.expiredNotice(channel));
      return;
    }
    const replay = await readReplay(deps.history, channel, resumeId, STREAM_REPLAY_PAGE_SIZE);
    // Each message names the one before it (the first, where the replay starts: the position asked
    // for, or a reset's `after`), as the published items do, so the gap rule holds across the replay
    // and the live messages.
    const frames = new Map(replay.messages.map((m, i) => [m.id, spec.frame(m, withPrev(envelopeJson(m), i === 0 ? replay.plan.afterId : replay.messages[i - 1]!.id))]));
    const { page, complete } = replayPage(replay.messages, (m) => Buffer.byteLength(frames.get(m.id)!), STREAM_REPLAY_BUDGET_BYTES);
    const upTo = complete ? replay.upTo : page.at(-1)!.id;
    const parts = page.map((m) => frames.get(m.id)!);
    if (replay.plan.reset) parts.unshift(spec.resetNotice(channel, replay.plan.reset));
    if (page.length === 0) parts.push(spec.positionNotice(channel, upTo));
    const body = parts.join('');
    if (page.length > 0) deps.metrics.messagesReplayed.inc({ transport: spec.transport }, page.length);
    res.status(200);
    if (!complete || replay.more) {
      // More retained than one page: no hold yet, only the next link, which Pushpin follows at once
      // and appends to this same response, until a page reaches the channel's position and holds.
      res.set('Grip-Link', `<${nextPageLink(spec, deps.access, admission, channel, upTo, events)}>; rel=next`).send(body);
      return;
    }
    const channels = [historyChannelFor(spec.transport, channel), liveChannelFor(spec.transport, channel)];
    if (events && spec.presenceEvents) channels.push(spec.presenceEvents.channel(channel));
    if (admission.kind === 'granted') channels.push(...deps.streamExpiry.hold(spec.transport, channel, admission.exp));
    const instruct = new GripInstruct(channels.map((c) => new Channel(c)));
    instruct.setHoldStream();
    instruct.setKeepAlive(spec.keepAlive, STREAM_KEEP_ALIVE_SECONDS);
    deps.metrics.holdsOpened.inc({ transport: spec.transport });
    res.set(instruct.toHeaders()).send(body);
  };
}
