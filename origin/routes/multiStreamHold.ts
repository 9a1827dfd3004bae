// A GRIP stream hold on several channels (GET /events?channel=a&channel=b, GET /stream?...): each
// channel as on its own stream (routes/streamHold.ts: replay what the client missed, then hold the
// history and live channels, no prev-id, every stored message naming its `prev`), in one response.
// Every event names its channel (the envelope's `channel`, the notices' `channel`), so the client
// applies the gap rule per channel. On SSE each page ends with an id-only block holding the whole
// stream's position (`a:42,b:7`), what EventSource's Last-Event-ID is until the first live message.
//
// The hold's GRIP channels count against the proxy's subscriptions per connection (Fanout: 20; past
// them Pushpin drops channels from the hold with nothing but a log line), so a stream that would
// need more is refused with a 400 naming the limit. A private stream holds the expiry channels of
// its first private channel only: one token admits the whole stream, so all expire together.
import { Channel, GripInstruct } from '@fanoutio/grip';
import type { Request, Response } from 'express';
import {
  envelopeJson,
  formatStreamPosition,
  MAX_CONNECTION_SUBSCRIPTIONS,
  maxStreamChannels,
  PRESENCE_EVENTS_QUERY_PARAM,
  STREAM_CHANNEL_PARAM,
  streamSubscriptions,
  withPrev,
} from '../../protocol/index.ts';
import { multiReplayPage } from '../history/multiReplay.ts';
import { readReplay } from '../history/replay.ts';
import { historyChannelFor, liveChannelFor } from '../channels/gripChannels.ts';
import { multiStreamRequestOf, type MultiStreamRequest } from './multiStreamRequest.ts';
import { RequestParamError, sendBadRequest } from './realtimeRequest.ts';
import { STREAM_KEEP_ALIVE_SECONDS, STREAM_REPLAY_BUDGET_BYTES, STREAM_REPLAY_PAGE_SIZE, type StreamHoldDeps, type StreamHoldSpec } from './streamHold.ts';
import { admitStreamChannels, streamGrantScope } from './subscriberAdmission.ts';

/** A next link's path segment before its position: no channel name starts with '.'. */
const LINK_SEGMENT = '.multi';

/**
 * The client's path, and the next links' forms: the position (naming every channel) and, on a
 * private stream, the grant in the path, never in the query (see streamHoldPaths).
 */
export function multiStreamHoldPaths(pathPrefix: string): string[] {
  return [`/${pathPrefix}`, `/${pathPrefix}/${LINK_SEGMENT}/:position`, `/${pathPrefix}/${LINK_SEGMENT}/:position/:grant`];
}

export interface MultiStreamHoldDeps extends StreamHoldDeps {
  /** The proxy's subscriptions per connection (Fanout's connection_subscription_max). */
  maxSubscriptions?: number;
}

/** The 400 for a stream that needs more subscriptions than the proxy gives a connection. */
function sendTooManySubscriptions(res: Response, needed: number, limit: number, request: MultiStreamRequest, isPrivate: boolean): void {
  const most = maxStreamChannels({ presenceEvents: request.presenceEvents, private: isPrivate }, limit);
  res
    .status(400)
    .set('Cache-Control', 'no-store')
    .json({
      error: 'bad_request',
      reason: 'too_many_subscriptions',
      limit,
      needed,
      message:
        `this stream of ${request.channels.length} channels needs ${needed} proxy subscriptions and a connection may hold ${limit} ` +
        `(Fanout's connection_subscription_max): 2 per channel${request.presenceEvents ? ' and 1 more for its member events' : ''}` +
        `${isPrivate ? ', 2 for the token expiry of a stream with private channels' : ''}; ` +
        `at most ${most} channels like these on one stream: open another stream for the rest`,
    });
}

export function multiStreamHoldHandler(spec: StreamHoldSpec, deps: MultiStreamHoldDeps) {
  const limit = deps.maxSubscriptions ?? MAX_CONNECTION_SUBSCRIPTIONS;
  const eventsLink = spec.presenceEvents ? `/${spec.presenceEvents.linkPrefix}/` : undefined;
  return async (req: Request, res: Response): Promise<void> => {
    let request: MultiStreamRequest;
    try {
      request = multiStreamRequestOf({
        linkPosition: req.params.position as string | undefined,
        channelParams: req.query[STREAM_CHANNEL_PARAM],
        positions: [
          ...(spec.resumeSources.headers ?? []).map((name): [string, unknown] => [name, req.get(name)]),
          ...spec.resumeSources.query.map((name): [string, unknown] => [name, req.query[name]]),
        ],
        // Asked in the client's query, or kept by a next link of such a stream.
        presenceEvents: eventsLink !== undefined && (req.path.startsWith(eventsLink) || req.query[PRESENCE_EVENTS_QUERY_PARAM] === '1'),
      });
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const { channels, presenceEvents } = request;
    const privateChannels = channels.map((c) => c.channel).filter((c) => deps.access.isPrivate(c));
    const needed = streamSubscriptions({ channels: channels.length, presenceEvents, private: privateChannels.length > 0 });
    if (needed > limit) return sendTooManySubscriptions(res, needed, limit, request, privateChannels.length > 0);
    const admission = await admitStreamChannels(req, res, privateChannels, spec.transport, deps);
    if (!admission) return;
    res.set({ 'Content-Type': spec.contentType, 'Cache-Control': 'no-cache, no-store' });
    if (admission.kind === 'expired') {
      // A next link followed after the token expired: the notice, no hold, so the stream ends.
      deps.metrics.subscriptionsExpired.inc({ transport: spec.transport });
      res.status(200).send(spec.expiredNotice(privateChannels[0]!));
      return;
    }
    const replays = await Promise.all(channels.map((c) => readReplay(deps.history, c.channel, c.since, STREAM_REPLAY_PAGE_SIZE)));
    const page = multiReplayPage(
      channels.map((c, i) => {
        const replay = replays[i]!;
        // Each message names the one before it on its channel, the first the position the replay starts from.
        const frames = replay.messages.map((m, j) => spec.frame(m, withPrev(envelopeJson(m), j === 0 ? replay.plan.afterId : replay.messages[j - 1]!.id)));
        return { channel: c.channel, requested: c.since, replay, frames };
      }),
      { reset: spec.resetNotice, position: spec.multi.positionNotice },
      (frame) => Buffer.byteLength(frame),
      STREAM_REPLAY_BUDGET_BYTES,
    );
    const position = formatStreamPosition(page.positions);
    if (spec.multi.streamPosition) page.parts.push(spec.multi.streamPosition(position));
    if (page.replayed > 0) deps.metrics.messagesReplayed.inc({ transport: spec.transport }, page.replayed);
    res.status(200);
    const body = page.parts.join('');
    if (!page.complete) {
      // More than one page: the next link, which Pushpin follows at once, appending to this response.
      const prefix = presenceEvents && spec.presenceEvents ? spec.presenceEvents.linkPrefix : spec.pathPrefix;
      let link = `/${prefix}/${LINK_SEGMENT}/${encodeURIComponent(position)}`;
      if (admission.kind === 'granted' && deps.access.linkGrants) {
        link += `/${deps.access.linkGrants.sign(streamGrantScope(spec.transport, privateChannels), admission.exp)}`;
      }
      res.set('Grip-Link', `<${link}>; rel=next`).send(body);
      return;
    }
    const grip: string[] = [];
    for (const { channel } of channels) {
      grip.push(historyChannelFor(spec.transport, channel), liveChannelFor(spec.transport, channel));
      if (presenceEvents && spec.presenceEvents) grip.push(spec.presenceEvents.channel(channel));
    }
    if (admission.kind === 'granted') grip.push(...deps.streamExpiry.hold(spec.transport, privateChannels[0]!, admission.exp));
    const instruct = new GripInstruct(grip.map((c) => new Channel(c)));
    instruct.setHoldStream();
    instruct.setKeepAlive(spec.keepAlive, STREAM_KEEP_ALIVE_SECONDS);
    deps.metrics.holdsOpened.inc({ transport: spec.transport });
    res.set(instruct.toHeaders()).send(body);
  };
}
