// The publisher's clock and every load process's: the same system clock, read with sub-millisecond
// resolution (performance.now() from each process's time origin).
export const wallClock = (): number => performance.timeOrigin + performance.now();
