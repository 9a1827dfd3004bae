// Items a test client received, in order, and a way to wait until enough of them arrived: the one
// "wait for N events/lines/frames" used by every recording client in test/harness.

export interface WaitOptions<T> {
  /** Only items passing this count (all items when omitted). */
  match?: (item: T) => boolean;
  /** Reject after this long; 10 s unless given. */
  timeoutMs?: number;
}

export interface Arrivals<T> {
  /** Everything received so far, in arrival order (the same array throughout). */
  readonly items: T[];
  push(item: T): void;
  /** Resolves with the first `count` (matching) items once they arrived; rejects after the timeout. */
  waitFor(count: number, options?: WaitOptions<T>): Promise<T[]>;
}

/** `what` names the items in the timeout error, e.g. 'SSE events'. */
export function createArrivals<T>(what: string): Arrivals<T> {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  return {
    items,
    push(item) {
      items.push(item);
      for (const wake of waiters) wake();
    },
    waitFor(count, { match, timeoutMs = 10_000 } = {}) {
      const matching = (): T[] => (match ? items.filter(match) : items);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = matching();
          if (found.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found.slice(0, count));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = match ? `${matching().length} matching of ${items.length}` : `${items.length}`;
          const expected = `${count}${match ? ' matching' : ''} ${what}`;
          reject(new Error(`expected ${expected} within ${timeoutMs} ms, got ${got}: ${JSON.stringify(items)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
