// How long to wait before connecting again: "full jitter" (a random delay between 0 and an
// exponentially growing ceiling), so thousands of clients cut at once do not come back at once.
// The failure count grows with every connection that ended before it was healthy and goes back to 0
// after a healthy one (see clientMachine.ts).

export interface BackoffSettings {
  /** The ceiling after the first failure is twice this. */
  baseMs: number;
  /** The ceiling never grows past this. */
  maxMs: number;
}

/** `random` in [0, 1). */
export function backoffDelayMs(settings: BackoffSettings, failures: number, random: number): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(failures, 30));
  return Math.floor(random * ceiling);
}
