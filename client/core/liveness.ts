// When a connection that says nothing needs looking at. Keep-alives (Pushpin's stream keep-alive every
// 20 s, its WebSocket pong every 25 s) prove a connection lives, not that its messages flow: Pushpin
// 1.36 can leave a connection open and kept alive after it overflowed a slow consumer's buffer, and
// never send it a message again. So:
// - `probe` after the silence time (by default two thirds of the idle time) without a message (a
//   WebSocket: without an application frame): a WebSocket pings (the pong names every channel's last id), a stream asks the history API
//   whether a message after its position exists. Only silent connections probe, once per period.
// - `dead` after the whole idle time with nothing at all (keep-alives included), where keep-alives are
//   visible (an EventSource hides them: there the probe alone notices).

export interface LivenessClock {
  /** Anything at all arrived (bytes, a keep-alive, a WebSocket control pong). */
  lastByteAt: number;
  /** A message (a WebSocket application frame) arrived. */
  lastMessageAt: number;
  /** The last probe was sent. */
  probedAt: number;
}

export type LivenessAction = 'none' | 'probe' | 'dead';

export function livenessAction(clock: LivenessClock, now: number, idleMs: number, silenceMs: number, keepAliveVisible: boolean): LivenessAction {
  if (keepAliveVisible && now - clock.lastByteAt >= idleMs) return 'dead';
  return now - Math.max(clock.lastMessageAt, clock.probedAt) >= silenceMs ? 'probe' : 'none';
}

/** When livenessAction may next say something other than `none` (given no more arrivals). */
export function nextLivenessCheck(clock: LivenessClock, idleMs: number, silenceMs: number, keepAliveVisible: boolean): number {
  const probeAt = Math.max(clock.lastMessageAt, clock.probedAt) + silenceMs;
  return keepAliveVisible ? Math.min(probeAt, clock.lastByteAt + idleMs) : probeAt;
}

/** The silence time when none is given: two thirds of the idle time, so a probe's answer comes before a live connection is given up. */
export function defaultSilenceMs(idleMs: number): number {
  return Math.floor((idleMs * 2) / 3);
}
