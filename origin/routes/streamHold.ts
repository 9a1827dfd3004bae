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
import { replayPosition } from './replayPosition.ts';

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
    const { replay, seenUpTo } = await replayPosition(deps.history, channel, resumeId);
    const instruct = new GripInstruct(new Channel(gripChannelFor(spec.transport, channel), seenUpTo));
    instruct.setHoldStream();
    instruct.setKeepAlive(spec.keepAlive, STREAM_KEEP_ALIVE_SECONDS);
    instruct.setNextLink(spec.resumeLink(channel, seenUpTo));
    deps.metrics.holdsOpened.inc({ transport: spec.transport });
    if (replay.length > 0) deps.metrics.messagesReplayed.inc({ transport: spec.transport }, replay.length);
    res
      .status(200)
      .set(instruct.toHeaders())
      .set({ 'Content-Type': spec.contentType, 'Cache-Control': 'no-cache, no-store' })
      .send(replay.map(spec.frame).join(''));
  };
}
