// Ids for messages published straight to a proxy, where no history assigns them. The origin numbers
// messages 1, 2, 3... per channel; without it, a message with no --id gets a time-based decimal id:
// milliseconds since the epoch times 1000 plus a counter, so ids from one run strictly increase and a
// later run normally continues above an earlier one (unless the clock steps back). They fit the
// origin's id rule (decimal, at most 18 digits). See the README ("Message ids") for the trade-off.
export interface MessageIdSource {
  next(): string;
}

export function createTimeIdSource(now: () => number = Date.now): MessageIdSource {
  let last = 0;
  return {
    next() {
      last = Math.max(last + 1, now() * 1000);
      return String(last);
    },
  };
}
