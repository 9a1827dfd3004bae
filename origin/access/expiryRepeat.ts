// The second publish of a token expiry's notice and close. The proxy subscribes a subscription's
// channels only when the origin's answer reaches it (a stream hold's GRIP headers, a WebSocket's `c:`
// control frame), and under load that took up to ~2.5 s after the origin answered (Pushpin 1.36 on a
// busy 2-core box). An answer given shortly before `exp` can therefore be subscribed after the close
// published at `exp` went out, and nothing else would end it before the backstop (the stream sweep,
// up to a period late; a WebSocket's keep-alive call, up to WS_TOKEN_KEEP_ALIVE_SECONDS late). So an
// expiry with a subscription answered less than EXPIRY_REPEAT_SECONDS before it (or after it: the
// origin checks the token before it reads the history) is published again EXPIRY_REPEAT_SECONDS after
// `exp`. A subscription that got the first close has ended and holds the channel no more; one
// subscribed in between gets the notice and the close once.

/**
 * How long after `exp` (or after a later answer) the expiry is published again: twice the longest
 * answer-to-subscription gap seen, and the longest a late-subscribed private subscription outlives
 * its token while the origin that answered it runs.
 */
export const EXPIRY_REPEAT_SECONDS = 5;

/**
 * When (milliseconds since the epoch) the expiry at `exp` (seconds) has to be published again for a
 * subscription the origin answers at `nowMs`; undefined when the publish at `exp` reaches it anyway
 * (answered at least EXPIRY_REPEAT_SECONDS before `exp`), which costs nothing more.
 */
export function expiryRepeatAt(exp: number, nowMs: number): number | undefined {
  if (nowMs <= (exp - EXPIRY_REPEAT_SECONDS) * 1000) return undefined;
  return Math.max(exp * 1000, nowMs) + EXPIRY_REPEAT_SECONDS * 1000;
}
