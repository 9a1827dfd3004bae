// Message ids are positions: decimal strings, increasing per channel, never going backwards (also
// across origin restarts and history flushes: each new epoch starts above every earlier id). Compared
// here and nowhere else, so the origin and every client agree on what "after" means.

/** "0" is the position before anything: asking from it means everything retained. */
export const START_ID = '0';

/** At most 18 digits: exact as decimal strings and below 10^18 in every store and runtime. */
export const MAX_MESSAGE_ID_DIGITS = 18;

const MESSAGE_ID = /^(0|[1-9]\d{0,17})$/;

export const MESSAGE_ID_RULE = 'a message id string such as "42" (decimal, at most 18 digits, no leading zeros)';

export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID.test(value);
}

/** Negative when `a` comes before `b`, 0 when equal, positive after. Both must be message ids. */
export function compareMessageIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of two positions (either may be undefined: no position). */
export function laterMessageId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareMessageIds(a, b) >= 0 ? a : b;
}
