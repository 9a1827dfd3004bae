// One subscriber per origin transport on a channel, through the Pushpin proxy: an EventSource, an NDJSON
// stream and a WebSocket that has been answered `subscribed`. Several e2e files need all three at once.
import { recordNdjson, type NdjsonRecorder } from './ndjsonClient.ts';
import { recordSse, type SseRecorder } from './sseClient.ts';
import { recordWs, type WsRecorder } from './wsClient.ts';

export interface ChannelSubscribers {
  sse: SseRecorder;
  ndjson: NdjsonRecorder;
  ws: WsRecorder;
  close(): void;
}

/** Resolves once all three are connected; if any fails, all are closed before the error is thrown. */
export async function subscribeEveryTransport(proxyUrl: string, channel: string): Promise<ChannelSubscribers> {
  const route = { 'pushpin-route': 'origin' };
  const sse = recordSse(`${proxyUrl}/events/${channel}`, route);
  const ndjson = recordNdjson(`${proxyUrl}/stream/${channel}`, route);
  const ws = recordWs(proxyUrl);
  const close = (): void => {
    sse.close();
    ndjson.close();
    ws.close();
  };
  try {
    await Promise.all([sse.opened, ndjson.opened, ws.opened]);
    ws.send({ type: 'subscribe', channel });
    await ws.waitFor(1, (f) => f.type === 'subscribed');
  } catch (error) {
    close();
    throw error;
  }
  return { sse, ndjson, ws, close };
}
