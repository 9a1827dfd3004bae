// Realtime requests the proxy cannot take, refused before the handoff with a clear 414 instead of the
// proxy dropping the connection (which a client sees as a 5xx from the handoff). Pushpin 1.36, the
// proxy of the local harness, resets a request whose target (path and query) is longer than about
// 4 KB (measured: 4,080 bytes went through, longer ones were reset). No request of this service's
// realtime contract comes near it: the longest is `/events/<128-character channel>?lastEventId=<18 digits>`.

/** The longest request target (path and query, as sent on the wire) handed to Fanout. */
export const MAX_HANDOFF_TARGET_BYTES = 4000;

/** The target's length when it is too long to hand off; undefined when it may go. */
export function oversizedHandoffTarget(url: string): number | undefined {
  const { pathname, search } = new URL(url);
  // URL keeps both percent-encoded, so their length is their length in bytes on the wire.
  const bytes = pathname.length + search.length;
  return bytes > MAX_HANDOFF_TARGET_BYTES ? bytes : undefined;
}
