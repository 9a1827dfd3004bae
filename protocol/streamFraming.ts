// One logical message in each HTTP transport's framing (SSE event, NDJSON line, long-poll body, history
// page), the status notices among them, and the readers clients use. Every path that delivers a message
// (live publish, history replay, a publish straight to the proxy) goes through the builders, so the bytes
// a client sees never depend on the path. The envelope is serialised once per message and spliced into
// each framing (publishing is hot).
import { isValidChannelName } from './channelNames.ts';
import { isContinuityReset, type ContinuityReset } from './continuity.ts';
import { envelopeJson, isEnvelope, type Envelope } from './envelope.ts';
import { isMessageId } from './messageIds.ts';
import { presenceEventData, presenceEventOf, presenceJson, type PresenceEvent } from './presence.ts';

// --- Server-Sent Events (GET /events/:channel) ---

/** Named SSE events besides plain messages (`onmessage` never sees these). */
export const SSE_EVENTS = {
  /** Continuity lost: data is `{ channel, ...ContinuityReset }`; everything retained after `after` follows. */
  reset: 'reset',
  /** The stream's subscribe token expired; the stream ends. Data: `{ channel }`. */
  tokenExpired: 'token-expired',
  /** A member entered or left (streams opened with `?presence=1`). Data: a PresenceEvent; no `id:`, so the position stays. */
  presence: 'presence',
  /**
   * Where one channel of a stream of several stands, when its replay sent no message (an EventSource
   * hides id-only blocks; this one it dispatches). Data: `{ channel, lastId }`.
   */
  position: 'position',
} as const;

/**
 * A stored message's envelope JSON naming the id it follows on its channel (`"prev"`, as WebSocket
 * frames do). Every stored message on an SSE or NDJSON stream names it: the proxy holds streams
 * without a sequence check of its own, so a client whose position is not `prev` missed something and
 * comes back from its position (the gap rule). Spliced in front of the envelope's own fields.
 */
export function withPrev(json: string, prev: string): string {
  return `{"prev":${JSON.stringify(prev)},${json.slice(1)}`;
}

/** An SSE event whose id is the message id, so EventSource's Last-Event-ID resumes from it. A live-only message has no `id:`. */
export function sseEvent(message: Envelope, json = envelopeJson(message)): string {
  return message.id === undefined ? `data: ${json}\n\n` : `id: ${message.id}\ndata: ${json}\n\n`;
}

/**
 * An SSE block with only an id: EventSource records it as its Last-Event-ID without dispatching an
 * event, so a subscriber that has received nothing yet still reconnects from the right position.
 */
export function ssePosition(id: string): string {
  return `id: ${id}\n\n`;
}

/** SSE_EVENTS.position: a channel's position on a stream of several (the NDJSON position line's twin). */
export function sseChannelPosition(channel: string, id: string): string {
  return `event: ${SSE_EVENTS.position}\ndata: ${JSON.stringify({ channel, lastId: id })}\n\n`;
}

export function sseReset(channel: string, reset: ContinuityReset): string {
  return `event: ${SSE_EVENTS.reset}\ndata: ${JSON.stringify({ channel, ...reset })}\n\n`;
}

/**
 * The last event of a stream on a private channel whose token expired; the stream ends after it, and a
 * reconnect with the same token gets 403: reconnect with a fresh token and the last id.
 */
export function sseExpired(channel: string): string {
  return `event: ${SSE_EVENTS.tokenExpired}\ndata: ${JSON.stringify({ channel })}\n\n`;
}

/** A member event on an SSE stream (no `id:` line: EventSource's Last-Event-ID stays the position). */
export function ssePresence(event: PresenceEvent): string {
  return `event: ${SSE_EVENTS.presence}\ndata: ${presenceEventData(event)}\n\n`;
}

/** The comment line Pushpin sends on an idle SSE stream. */
export const SSE_KEEP_ALIVE = ':\n\n';

// --- NDJSON (GET /stream/:channel) ---

export function ndjsonLine(message: Envelope, json = envelopeJson(message)): string {
  return `${json}\n`;
}

/** Status lines among the messages carry a "type" (messages never do). */
export const NDJSON_STATUS = { reset: 'reset', tokenExpired: 'token_expired', position: 'position', presence: 'presence' } as const;

/** A member event on an NDJSON stream (streams opened with `?presence=1`). */
export function ndjsonPresence(event: PresenceEvent): string {
  return `${presenceJson(event)}\n`;
}

/**
 * The first line of a stream that replays nothing: where the subscriber is (as SSE's id-only block),
 * so a client knows its position, and that the stream is open, before the first message.
 */
export function ndjsonPosition(channel: string, id: string): string {
  return `${JSON.stringify({ type: NDJSON_STATUS.position, channel, lastId: id })}\n`;
}

export function ndjsonReset(channel: string, reset: ContinuityReset): string {
  return `${JSON.stringify({ type: NDJSON_STATUS.reset, channel, ...reset })}\n`;
}

export function ndjsonExpired(channel: string): string {
  return `${JSON.stringify({ type: NDJSON_STATUS.tokenExpired, channel })}\n`;
}

/** A blank line: what Pushpin sends on an idle NDJSON stream (readers skip it). */
export const NDJSON_KEEP_ALIVE = '\n';

/** What one line of an NDJSON stream (or the data of one SSE event) means. */
export type StreamItem =
  /** `prev`: the id the message follows, when the stream names it (see withPrev). */
  | { kind: 'message'; message: Envelope; prev?: string }
  | { kind: 'reset'; channel: string; reset: ContinuityReset }
  | { kind: 'expired'; channel: string }
  /** Where the subscriber stands before any message (an NDJSON position line, an SSE position event). */
  | { kind: 'position'; channel: string; lastId: string }
  /** A member entered or left (not a message: the position stays). */
  | { kind: 'presence'; event: PresenceEvent }
  | { kind: 'keep-alive' }
  | { kind: 'invalid'; reason: string };

function resetOf(value: Record<string, unknown>): ContinuityReset | undefined {
  const reset = { reason: value.reason, since: value.since, after: value.after };
  return isContinuityReset(reset) ? reset : undefined;
}

/** A message, its `prev` (only a stored message, one with an id, names one) taken out of the envelope. */
function messageItem(value: Envelope & { prev?: unknown }): StreamItem {
  if (value.prev === undefined) return { kind: 'message', message: value };
  const { prev, ...message } = value;
  if (message.id === undefined || !isMessageId(prev)) return { kind: 'invalid', reason: 'a message whose prev is not a message id, or that has no id' };
  return { kind: 'message', message, prev };
}

/** Reads one NDJSON line (without its newline). */
export function parseNdjsonLine(line: string): StreamItem {
  if (line.trim() === '') return { kind: 'keep-alive' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'a line that is not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { kind: 'invalid', reason: 'a line that is not a JSON object' };
  const v = value as Record<string, unknown>;
  if (v.type === undefined) return isEnvelope(v) ? messageItem(v) : { kind: 'invalid', reason: 'a message that is not an envelope' };
  if (!isValidChannelName(v.channel)) return { kind: 'invalid', reason: 'a status line without a valid channel' };
  if (v.type === NDJSON_STATUS.reset) {
    const reset = resetOf(v);
    return reset ? { kind: 'reset', channel: v.channel, reset } : { kind: 'invalid', reason: 'a reset line without reason, since and after' };
  }
  if (v.type === NDJSON_STATUS.tokenExpired) return { kind: 'expired', channel: v.channel };
  if (v.type === NDJSON_STATUS.position) {
    return isMessageId(v.lastId) ? { kind: 'position', channel: v.channel, lastId: v.lastId } : { kind: 'invalid', reason: 'a position line without a lastId' };
  }
  if (v.type === NDJSON_STATUS.presence) {
    const event = presenceEventOf(v);
    return event ? { kind: 'presence', event } : { kind: 'invalid', reason: 'a presence line without action, clientId and ts' };
  }
  return { kind: 'invalid', reason: `an unknown status line type ${JSON.stringify(v.type)}` };
}

/** Reads one SSE event (its `event:` name, default "message", and its data). */
export function parseSseEvent(event: string, data: string): StreamItem {
  if (event === 'message') {
    try {
      const value: unknown = JSON.parse(data);
      return isEnvelope(value) ? messageItem(value) : { kind: 'invalid', reason: 'a message that is not an envelope' };
    } catch {
      return { kind: 'invalid', reason: 'an event whose data is not JSON' };
    }
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return { kind: 'invalid', reason: `a ${event} event whose data is not JSON` };
  }
  if (typeof value !== 'object' || value === null || !isValidChannelName(value.channel)) {
    return { kind: 'invalid', reason: `a ${event} event without a valid channel` };
  }
  if (event === SSE_EVENTS.reset) {
    const reset = resetOf(value);
    return reset ? { kind: 'reset', channel: value.channel, reset } : { kind: 'invalid', reason: 'a reset event without reason, since and after' };
  }
  if (event === SSE_EVENTS.tokenExpired) return { kind: 'expired', channel: value.channel };
  if (event === SSE_EVENTS.position) {
    return isMessageId(value.lastId) ? { kind: 'position', channel: value.channel, lastId: value.lastId } : { kind: 'invalid', reason: 'a position event without a lastId' };
  }
  if (event === SSE_EVENTS.presence) {
    const presence = presenceEventOf(value);
    return presence ? { kind: 'presence', event: presence } : { kind: 'invalid', reason: 'a presence event without action, clientId and ts' };
  }
  return { kind: 'invalid', reason: `an unknown event ${JSON.stringify(event)}` };
}

// --- Long-poll (GET /poll/:channel?since=) ---

export interface PollBody {
  messages: Envelope[];
  /** The position to poll from next; absent on an answer carrying a live-only message (keep your `since`). */
  lastId?: string;
  reset?: ContinuityReset;
}

/** Messages in one long-poll answer at most; poll again from its `lastId` for more. */
export const POLL_PAGE_SIZE = 100;

export interface PollExtras {
  lastId?: string;
  reset?: ContinuityReset;
}

export function pollBody(messages: Envelope[], jsons = messages.map((m) => envelopeJson(m)), extras: PollExtras = {}): string {
  const lastId = extras.lastId === undefined ? '' : `,"lastId":${JSON.stringify(extras.lastId)}`;
  const reset = extras.reset === undefined ? '' : `,"reset":${JSON.stringify(extras.reset)}`;
  return `{"messages":[${jsons.join(',')}]${lastId}${reset}}\n`;
}

/** Checks a long-poll answer; a string says what is wrong with it. */
export function parsePollBody(value: unknown): PollBody | string {
  if (typeof value !== 'object' || value === null) return 'the answer is not a JSON object';
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.messages) || !v.messages.every(isEnvelope)) return '"messages" is not a list of envelopes';
  if (v.lastId !== undefined && !isMessageId(v.lastId)) return '"lastId" is not a message id';
  if (v.reset !== undefined && !isContinuityReset(v.reset)) return '"reset" is not a reset notice';
  return {
    messages: v.messages,
    ...(v.lastId !== undefined ? { lastId: v.lastId } : {}),
    ...(v.reset !== undefined ? { reset: v.reset } : {}),
  };
}

// --- History API (GET /api/channels/:channel/messages?since=&limit=) ---

export interface HistoryPage {
  channel: string;
  /** The channel's newest id (its epoch base while it has no message). */
  lastId: string;
  /** Retained messages after `since`, oldest first. */
  messages: Envelope[];
  /** The `since` of the next page, when more are retained. */
  next?: string;
  reset?: ContinuityReset;
}

export const HISTORY_PAGE_DEFAULT = 100;
export const HISTORY_PAGE_MAX = 1000;

export function parseHistoryPage(value: unknown): HistoryPage | string {
  if (typeof value !== 'object' || value === null) return 'the answer is not a JSON object';
  const v = value as Record<string, unknown>;
  if (!isValidChannelName(v.channel)) return '"channel" is not a channel name';
  if (!isMessageId(v.lastId)) return '"lastId" is not a message id';
  if (!Array.isArray(v.messages) || !v.messages.every(isEnvelope)) return '"messages" is not a list of envelopes';
  if (v.next !== undefined && !isMessageId(v.next)) return '"next" is not a message id';
  if (v.reset !== undefined && !isContinuityReset(v.reset)) return '"reset" is not a reset notice';
  return {
    channel: v.channel,
    lastId: v.lastId,
    messages: v.messages,
    ...(v.next !== undefined ? { next: v.next } : {}),
    ...(v.reset !== undefined ? { reset: v.reset } : {}),
  };
}
