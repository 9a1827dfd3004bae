// Turns a stored message into the GRIP publish items for every transport, in Pushpin's wire format.
// `id`/`prev-id` let Pushpin notice a gap and recover through the subscriber's Grip-Link.
import type { ChannelMessage } from '../history/historyStore.ts';
import { gripChannelFor } from '../transports/gripChannels.ts';
import { envelopeJson, ndjsonLine, pollBody, sseEvent, wsMessageFrame } from '../transports/messageFraming.ts';

export type GripFormats = {
  'http-stream'?: { content: string } | { action: 'close' };
  'http-response'?: { code: number; reason: string; headers: Record<string, string>; body: string };
  'ws-message'?: { content: string } | { action: 'close'; code?: number; reason?: string };
};

export interface GripPublishItem {
  channel: string;
  id?: string;
  'prev-id'?: string;
  formats: GripFormats;
}

function withIds(item: GripPublishItem, id: string, prevId: string | undefined): GripPublishItem {
  return { ...item, id, ...(prevId !== undefined ? { 'prev-id': prevId } : {}) };
}

export interface ItemOptions {
  /** false: items without GRIP id/prev-id (for publishers with no history to sequence them). Default true. */
  gripIds?: boolean;
}

export function itemsForMessage(
  message: ChannelMessage,
  prevId: string | undefined,
  options: ItemOptions = {},
): GripPublishItem[] {
  const c = message.channel;
  const json = envelopeJson(message);
  const items: GripPublishItem[] = [
    { channel: gripChannelFor('sse', c), formats: { 'http-stream': { content: sseEvent(message, json) } } },
    { channel: gripChannelFor('stream', c), formats: { 'http-stream': { content: ndjsonLine(message, json) } } },
    {
      channel: gripChannelFor('poll', c),
      formats: {
        'http-response': {
          code: 200,
          reason: 'OK',
          headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
          body: pollBody([message], [json]),
        },
      },
    },
    { channel: gripChannelFor('ws', c), formats: { 'ws-message': { content: wsMessageFrame(message, json) } } },
  ];
  return options.gripIds === false ? items : items.map((item) => withIds(item, message.id, prevId));
}

/** The WebSocket close code sent when a channel is closed: a real code, not the 1005 of a bare close. */
export const CHANNEL_CLOSED_WS_CODE = 1000;

/**
 * Items that end every stream and WebSocket subscribed to the channel. Pushpin drops an item whose
 * prev-id is not a sequenced hold's last id, a close included: give `prevId` (the channel's last id,
 * NO_MESSAGES_ID on a channel without messages) so this origin's SSE and NDJSON holds end too.
 * Without it only WebSockets and holds without prev-id end. The WebSocket subscription is not
 * sequenced, so its close item never carries prev-id.
 */
export function closeItemsForChannel(channel: string, prevId?: string): GripPublishItem[] {
  const sequence = prevId !== undefined ? { 'prev-id': prevId } : {};
  return [
    { channel: gripChannelFor('sse', channel), ...sequence, formats: { 'http-stream': { action: 'close' } } },
    { channel: gripChannelFor('stream', channel), ...sequence, formats: { 'http-stream': { action: 'close' } } },
    {
      channel: gripChannelFor('ws', channel),
      formats: { 'ws-message': { action: 'close', code: CHANNEL_CLOSED_WS_CODE, reason: 'channel closed' } },
    },
  ];
}

/** Bytes one item takes inside a publish request body, to keep every request under the proxy's limit. */
export function publishedItemBytes(item: GripPublishItem): number {
  return Buffer.byteLength(JSON.stringify(item));
}
