// Turns a message into GRIP publish items for every transport, in Pushpin's wire format (see
// channels/gripChannels.ts for which channel is which).
import type { ChannelMessage } from '../history/historyStore.ts';
import { historyChannelFor, liveChannelFor } from '../channels/gripChannels.ts';
import { envelopeJson, ndjsonLine, pollBody, sseEvent, START_ID, storedEnvelopeJson, withPrev, wsMessageFrame, type Envelope } from '../../protocol/index.ts';

export type GripFormats = {
  'http-stream'?: { content: string } | { action: 'close' };
  'http-response'?: { code: number; reason: string; headers: Record<string, string>; body: string };
  'ws-message'?: { content: string } | { action: 'close'; code?: number; reason?: string };
};

export interface GripPublishItem {
  channel: string;
  id?: string;
  'prev-id'?: string;
  /** Publish meta for Pushpin's filters (`skip_users` for the skip-users filter). */
  meta?: Record<string, string>;
  formats: GripFormats;
}

const POLL_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

function pollResponse(body: string): GripFormats['http-response'] {
  return { code: 200, reason: 'OK', headers: POLL_HEADERS, body };
}

export interface StoredItemOptions {
  /** WebSocket connections mid-subscribe (their filter users): they get this message in their catch-up. */
  skipUsers?: string[];
  /** The message's data as JSON text (exactly JSON.stringify(data)), when the caller has it already. */
  dataJson?: string;
}

/**
 * The largest item a request body can carry: the body limit less `{"items":[]}`. Fanout's (and the
 * local Pushpin's) publish limit; gripPublisher.ts batches under it.
 */
export const PUBLISH_BODY_LIMIT_BYTES = 65536;
export const MAX_ITEM_BYTES = PUBLISH_BODY_LIMIT_BYTES - '{"items":[]}'.length;

/** Bytes of an item's fixed parts around the envelope (ids, channel names, format keys, poll headers), generously. */
const ITEM_FRAME_BYTES = 1024;

/**
 * Whether an item carrying the envelope twice (SSE event and long-poll body) fits MAX_ITEM_BYTES. Only
 * an envelope that could escape to over half of it is measured (one escape pass); a JSON character
 * escapes to at most 6 bytes.
 */
function bothFormatsFit(json: string): boolean {
  if (json.length * 6 * 2 + ITEM_FRAME_BYTES <= MAX_ITEM_BYTES) return true;
  return Buffer.byteLength(JSON.stringify(json)) * 2 + ITEM_FRAME_BYTES <= MAX_ITEM_BYTES;
}

/**
 * The origin's items for a message it stored: three, each billed by Fanout as one message received
 * ("Number of messages is the sum of the total published messages received from the publish API and
 * the total published messages sent to end users", docs.fastly.com/products/fanout; a publish item is
 * "an individual message", the Publishing API reference):
 * - the SSE history channel, sequenced with id/prev-id, carrying the SSE event (http-stream, to SSE
 *   holds) and the long-poll answer (http-response, to long-poll holds, which subscribe there too);
 *   the event and the NDJSON line name the id the message follows (`prev`);
 * - the NDJSON history channel (http-stream with other content than SSE's: its own item);
 * - the WebSocket channel (with id/prev-id too, which Pushpin's sequencer uses to order items that
 *   several origin instances publish at once).
 * An item holds the envelope twice then: for the largest messages (when that would not fit one
 * request body) the long-poll answer is instead an empty one at the message's predecessor, and the
 * long-poll client, polling again from there, gets the message from the history at once.
 */
export function itemsForStoredMessage(
  message: ChannelMessage,
  prevId: string,
  options: StoredItemOptions = {},
): GripPublishItem[] {
  const c = message.channel;
  const json = options.dataJson === undefined ? envelopeJson(message) : storedEnvelopeJson(message, options.dataJson);
  const sequence = { id: message.id, 'prev-id': prevId };
  // The first message of an epoch follows START_ID, the position of a channel with no message, so
  // every long-poll hold at it takes the message at once, and a stream client at it sees no gap.
  // (Were it to name nothing, or an id no hold has, every hold checking prev-id would retry at the
  // same moment; when stream holds still checked it, under load Pushpin 1.36 answered such a burst of
  // shared next-link fetches 502 and never answered the fetches that joined the failed one: streams
  // open, kept alive and silent for good, 95-310 of 1,200 measured.) The WebSocket channel has no holds to match: there it
  // names none, so Pushpin's sequencer does not wait for a predecessor it never saw (it waits up to
  // 5 s when it remembers another id for the channel, e.g. an earlier epoch's).
  const wsSequence = prevId === START_ID ? { id: message.id } : sequence;
  const skip = options.skipUsers && options.skipUsers.length > 0 ? { meta: { skip_users: options.skipUsers.join(',') } } : {};
  const poll = bothFormatsFit(json) ? pollBody([message], [json], { lastId: message.id }) : pollBody([], [], { lastId: prevId });
  // SSE and NDJSON holds carry no prev-id (routes/streamHold.ts): the event and the line name the id
  // the message follows, for the client's gap rule.
  const streamJson = withPrev(json, prevId);
  return [
    {
      channel: historyChannelFor('sse', c),
      ...sequence,
      formats: { 'http-stream': { content: sseEvent(message, streamJson) }, 'http-response': pollResponse(poll) },
    },
    { channel: historyChannelFor('stream', c), ...sequence, formats: { 'http-stream': { content: ndjsonLine(message, streamJson) } } },
    { channel: liveChannelFor('ws', c), ...wsSequence, ...skip, formats: { 'ws-message': { content: wsMessageFrame(message, json, prevId) } } },
  ];
}

/** A message published straight to the proxy: no id (it is not in the history), the live channels. */
export type LiveMessage = Omit<Envelope, 'id'>;

/**
 * Items for a message that bypasses the history: every transport's live channel, no GRIP id. It reaches
 * every current subscriber; a client that reconnects later does not get it again.
 */
export function liveItemsForMessage(message: LiveMessage): GripPublishItem[] {
  const envelope: Envelope = { channel: message.channel, data: message.data, ts: message.ts };
  const c = message.channel;
  const json = envelopeJson(envelope);
  return [
    { channel: liveChannelFor('sse', c), formats: { 'http-stream': { content: sseEvent(envelope, json) } } },
    { channel: liveChannelFor('stream', c), formats: { 'http-stream': { content: ndjsonLine(envelope, json) } } },
    { channel: liveChannelFor('poll', c), formats: { 'http-response': pollResponse(pollBody([envelope], [json])) } },
    { channel: liveChannelFor('ws', c), formats: { 'ws-message': { content: wsMessageFrame(envelope, json) } } },
  ];
}

/** The WebSocket close code sent when a channel is closed: a real code, not the 1005 of a bare close. */
export const CHANNEL_CLOSED_WS_CODE = 1000;

/**
 * Items that end every SSE and NDJSON stream and every WebSocket subscribed to the channel, whatever
 * their position: they go to the live channels, which carry no sequence check. A long-poll has no
 * close; it answers at its timeout.
 */
export function closeItemsForChannel(channel: string): GripPublishItem[] {
  return [
    { channel: liveChannelFor('sse', channel), formats: { 'http-stream': { action: 'close' } } },
    { channel: liveChannelFor('stream', channel), formats: { 'http-stream': { action: 'close' } } },
    {
      channel: liveChannelFor('ws', channel),
      formats: { 'ws-message': { action: 'close', code: CHANNEL_CLOSED_WS_CODE, reason: 'channel closed' } },
    },
  ];
}

/** Bytes one item takes inside a publish request body, to keep every request under the proxy's limit. */
export function publishedItemBytes(item: GripPublishItem): number {
  return Buffer.byteLength(JSON.stringify(item));
}
