// A subscription's own messages: published with `skipSelf` over the WebSocket it is on, so the proxy
// never sends them to it. Its position must move through each (prev -> id), or the next message,
// naming the own one as its predecessor, would look like a gap; one that reaches it anyway (a replay
// after a reconnect) is then a duplicate, never delivered. Kept per subscription, bounded.

/** Own messages remembered per subscription, at most (the oldest go first). */
export const MAX_OWN_MESSAGES = 64;

/** prev -> id of each own message not passed yet. */
export type OwnMessages = Map<string, string>;

export function recordOwn(own: OwnMessages, prev: string, id: string): void {
  own.set(prev, id);
  if (own.size > MAX_OWN_MESSAGES) own.delete(own.keys().next().value!);
}

/** The position after every own message that follows it, in a chain (each passed is forgotten). */
export function passOwn(own: OwnMessages, position: string | undefined): string | undefined {
  let at = position;
  for (let next = at === undefined ? undefined : own.get(at); next !== undefined && at !== undefined; next = own.get(at)) {
    own.delete(at);
    at = next;
  }
  return at;
}
