// One logical message in each transport's framing. Every path that delivers a message (live publish,
// history replay, a publish straight to the proxy) goes through these, so the bytes a client sees
// never depend on the path. The envelope is serialised once per message and spliced into each framing
// (publishing is hot).
//
// A message published straight to the proxy has no id: it is not in the history, so it is not a
// position a client could resume from. Its SSE event carries no `id:` line (EventSource keeps its
// Last-Event-ID), and its envelope has no "id".
import type { ContinuityReset } from '../history/resumePlan.ts';

/** The envelope every transport carries: `{ "id", "channel", "data", "ts" }` ("id" absent when live-only). */
export interface Envelope {
  id?: string;
  channel: string;
  data: unknown;
  /** Milliseconds since the epoch, when the message was accepted. */
  ts: number;
}

export function envelopeOf(message: Envelope): Envelope {
  return message.id === undefined
    ? { channel: message.channel, data: message.data, ts: message.ts }
    : { id: message.id, channel: message.channel, data: message.data, ts: message.ts };
}

export function envelopeJson(message: Envelope): string {
  return JSON.stringify(envelopeOf(message));
}

/** An SSE event whose id is the message id, so EventSource's Last-Event-ID resumes from it. */
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

/** The notice that continuity was lost: a named event, so `onmessage` handlers never see it. */
export function sseReset(channel: string, reset: ContinuityReset): string {
  return `event: reset\ndata: ${JSON.stringify({ channel, ...reset })}\n\n`;
}

/**
 * The last event of a stream on a private channel whose token expired. A named event, like `reset`; the
 * stream ends after it, and EventSource's own reconnect (same URL, same token) gets a 403, so the page
 * makes a new EventSource with a fresh token and `lastEventId`.
 */
export function sseExpired(channel: string): string {
  return `event: token-expired\ndata: ${JSON.stringify({ channel })}\n\n`;
}

export function ndjsonExpired(channel: string): string {
  return `${JSON.stringify({ type: 'token_expired', channel })}\n`;
}

export function ndjsonLine(message: Envelope, json = envelopeJson(message)): string {
  return `${json}\n`;
}

/** A status line among the messages: it has a "type" (messages never do). */
export function ndjsonReset(channel: string, reset: ContinuityReset): string {
  return `${JSON.stringify({ type: 'reset', channel, ...reset })}\n`;
}

export interface PollExtras {
  /** The position to poll from next (absent on a live-only message, whose publisher knows none). */
  lastId?: string;
  reset?: ContinuityReset;
}

export function pollBody(messages: Envelope[], jsons = messages.map(envelopeJson), extras: PollExtras = {}): string {
  const lastId = extras.lastId === undefined ? '' : `,"lastId":${JSON.stringify(extras.lastId)}`;
  const reset = extras.reset === undefined ? '' : `,"reset":${JSON.stringify(extras.reset)}`;
  return `{"messages":[${jsons.join(',')}]${lastId}${reset}}\n`;
}

/**
 * `{"type":"message", "prev"?, ...envelope}`, built by splicing the envelope's JSON after the type.
 * `prev` is the id the message follows on its channel (the position before it): a client whose last
 * id is not `prev` missed something (Pushpin drops WebSocket messages it cannot buffer, silently) and
 * subscribes again with `since`. A live-only message has neither id nor prev.
 */
export function wsMessageFrame(message: Envelope, json = envelopeJson(message), prev?: string): string {
  return prev === undefined ? `{"type":"message",${json.slice(1)}` : `{"type":"message","prev":${JSON.stringify(prev)},${json.slice(1)}`;
}
