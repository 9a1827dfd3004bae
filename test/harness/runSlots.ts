// At most `count` bodies at once, the rest waiting their turn in order: for concurrent test cases that
// each start a whole stack, so that a 2-core machine (beside other test files) starts a few at a time
// and timed bounds (every process gone within 3 s, ...) keep their headroom.
export type RunInSlot = <T>(body: () => Promise<T>) => Promise<T>;

export function runSlots(count: number): RunInSlot {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (body) => {
    if (running >= count) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await body();
    } finally {
      // The slot passes straight to the next waiter (running stays the same), or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
