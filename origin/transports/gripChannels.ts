// The GRIP channels behind one user channel. Every subscriber holds two kinds:
// - a *live* channel per transport (`sse:news`, `stream:news`, `poll:news`, `ws:news`) with no sequence
//   check, so anything published straight to the proxy (our CLI, curl, any GRIP publisher) reaches
//   every current subscriber;
// - for SSE, NDJSON and long-poll, a *history* channel (`history:sse:news`, ...) that only this origin
//   publishes to, with `id`/`prev-id`: Pushpin checks prev-id per channel of a hold, so a gap in the
//   origin's sequence is recovered from history through the hold's next link.
// WebSocket items carry no prev-id check in Pushpin, so WebSockets hold just `ws:news` (the origin's
// items on it carry ids for Pushpin's reordering; see transports/wsSubscribe.ts for how a subscribe
// closes the window in which a message could be missed).
// Each transport has its own channels because SSE and NDJSON both use the http-stream format and one
// item carries only one http-stream content. User channel names cannot contain ':'.
export type Transport = 'sse' | 'stream' | 'poll' | 'ws';
export type SequencedTransport = Exclude<Transport, 'ws'>;

export const TRANSPORTS: readonly Transport[] = ['sse', 'stream', 'poll', 'ws'];

/** Where a transport's subscribers receive live publishes from anyone (no sequence check). */
export function liveChannelFor(transport: Transport, channel: string): string {
  return `${transport}:${channel}`;
}

/** The origin's own sequenced channel for a transport (prev-id checked, recovered from history). */
export function historyChannelFor(transport: SequencedTransport, channel: string): string {
  return `history:${transport}:${channel}`;
}

/**
 * WebSocket connections holding a subscription whose token expires at `exp` (seconds) also hold this
 * channel; at `exp` the origin publishes a close to it (see access/expiryCloser.ts).
 */
export function expiryChannelFor(exp: number): string {
  return `expiry:ws:${exp}`;
}
