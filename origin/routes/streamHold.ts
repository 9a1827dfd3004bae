// A GRIP stream hold (SSE and NDJSON): replay what the client missed in the body, then let the proxy
// keep the response open on the transport's channel. The subscription carries prev-id and a Grip-Link
// next, so when Pushpin sees a published item whose prev-id is not the last id it delivered (a gap),
// it fetches the link and appends what is missing itself.
import { Channel, GripInstruct } from '@fanoutio/grip';
import type { Request, Response } from 'express';
import type { ChannelMessage, HistoryStore } from '../history/historyStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { gripChannelFor, type Transport } from '../transports/gripChannels.ts';
import { channelParam, RequestParamError, resumeIdOf, sendBadRequest } from './realtimeRequest.ts';
import { replayPage, replayPosition } from './replayPosition.ts';

/** Pushpin accepts at most 100000 bytes of body with GRIP instructions; replay pages stay below it. */
export const STREAM_REPLAY_BUDGET_BYTES = 90_000;

/** Pushpin sends the keep-alive after this many idle seconds; below common 30-60 s proxy timeouts. */
export const STREAM_KEEP_ALIVE_SECONDS = 20;

export interface StreamHoldSpec {
  transport: Extract<Transport, 'sse' | 'stream'>;
  contentType: string;
  keepAlive: string;
  frame: (message: ChannelMessage) => string;
  /** Where the client can resume from after `id` (the Grip-Link next). */
  resumeLink: (channel: string, id: string) => string;
  resumeSources: { headers?: string[]; query: string[] };
}

export function streamHoldHandler(spec: StreamHoldSpec, deps: { history: HistoryStore; metrics: OriginMetrics }) {
  return async (req: Request, res: Response): Promise<void> => {
    let channel: string;
    let resumeId: string | undefined;
    try {
      channel = channelParam(req);
      resumeId = resumeIdOf(req, gripChannelFor(spec.transport, channel), spec.resumeSources);
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    const position = await replayPosition(deps.history, channel, resumeId);
    const frames = new Map(position.replay.map((m) => [m.id, spec.frame(m)]));
    const { page, upTo, behind } = replayPage(position, (m) => Buffer.byteLength(frames.get(m.id)!), STREAM_REPLAY_BUDGET_BYTES);
    const body = page.map((m) => frames.get(m.id)!).join('');
    if (page.length > 0) deps.metrics.messagesReplayed.inc({ transport: spec.transport }, page.length);
    res.status(200).set({ 'Content-Type': spec.contentType, 'Cache-Control': 'no-cache, no-store' });
    if (behind) {
      // More retained than one page: no hold yet, only the next link, which Pushpin follows at once
      // and appends to this same response, until a page reaches the channel's position and holds.
      res.set('Grip-Link', `<${spec.resumeLink(channel, upTo)}>; rel=next`).send(body);
      return;
    }
    const instruct = new GripInstruct(new Channel(gripChannelFor(spec.transport, channel), upTo));
    instruct.setHoldStream();
    instruct.setKeepAlive(spec.keepAlive, STREAM_KEEP_ALIVE_SECONDS);
    instruct.setNextLink(spec.resumeLink(channel, upTo));
    deps.metrics.holdsOpened.inc({ transport: spec.transport });
    res.set(instruct.toHeaders()).send(body);
  };
}
