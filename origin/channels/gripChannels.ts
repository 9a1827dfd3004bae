// The GRIP channels behind one user channel. Every subscriber holds two kinds:
// - a *live* channel per transport (`sse:news`, `stream:news`, `poll:news`, `ws:news`) with no sequence
//   check, so anything published straight to the proxy (our CLI, curl, any GRIP publisher) reaches
//   every current subscriber;
// - for SSE, NDJSON and long-poll, a *history* channel (`history:sse:news`, `history:stream:news`)
//   that only this origin publishes to, with `id`/`prev-id`. Pushpin's sequencer orders the items of
//   several origin instances by them; a long-poll hold checks prev-id and is retried on a gap. SSE and
//   NDJSON holds carry no prev-id (see routes/streamHold.ts): each message names its `prev` instead.
// WebSocket items carry no prev-id check in Pushpin, so WebSockets hold just `ws:news` (the origin's
// items on it carry ids for Pushpin's reordering; see websocket/wsSubscribe.ts for how a subscribe
// closes the window in which a message could be missed).
// One item carries at most one content per format, and Pushpin gives each hold the format of its
// mode (http-stream to stream holds, http-response to response holds, ws-message to WebSockets:
// handler/engine.cpp, sequencer_itemReady). SSE and NDJSON are both http-stream, with different
// content, so they need channels of their own; long-poll (http-response) shares SSE's history channel,
// one item carrying both formats (Fanout bills every item received as a message: see
// publishing/gripItems.ts). User channel names cannot contain ':'.
export type Transport = 'sse' | 'stream' | 'poll' | 'ws';
export type SequencedTransport = Exclude<Transport, 'ws'>;

export const TRANSPORTS: readonly Transport[] = ['sse', 'stream', 'poll', 'ws'];

/** Where a transport's subscribers receive live publishes from anyone (no sequence check). */
export function liveChannelFor(transport: Transport, channel: string): string {
  return `${transport}:${channel}`;
}

/**
 * The origin's own sequenced channel for a transport (prev-id checked, recovered from history).
 * Long-poll holds share SSE's: the origin's items there carry both formats.
 */
export function historyChannelFor(transport: SequencedTransport, channel: string): string {
  return `history:${transport === 'poll' ? 'sse' : transport}:${channel}`;
}

/**
 * Where member events (member_joined, member_left) go, to the subscribers that asked for them: one
 * item carries the WebSocket frame (ws-message) and the SSE event (http-stream); NDJSON streams, whose
 * http-stream content differs, have a channel of their own. No sequence: events are live only.
 */
export function presenceEventsChannelFor(transport: 'ws' | 'sse' | 'stream', channel: string): string {
  return transport === 'stream' ? `presence:stream:${channel}` : `presence:${channel}`;
}

/**
 * WebSocket connections holding a subscription whose token expires at `exp` (seconds) also hold this
 * channel; at `exp` the origin publishes a close to it (see access/expiryCloser.ts).
 */
export function expiryChannelFor(exp: number): string {
  return `expiry:ws:${exp}`;
}

/**
 * A private SSE or NDJSON stream whose token expires at `exp` (seconds) also holds this channel; at
 * `exp` the origin that let it in publishes the expiry notice and a close to it (see
 * access/streamExpiryCloser.ts). Per channel, because the notice names the channel.
 */
export function streamExpiryChannelFor(transport: 'sse' | 'stream', channel: string, exp: number): string {
  return `expiry:${transport}:${exp}:${channel}`;
}

/**
 * The same streams also hold the sweep channel of the period their `exp` falls in (`at` its end, in
 * seconds): every origin instance closes it when the period is over, whoever let the streams in.
 */
export function streamSweepChannelFor(transport: 'sse' | 'stream', at: number): string {
  return `expiry:${transport}:${at}`;
}
