import { describe, expect, it } from 'vitest';
import { createArrivals } from './arrivals.ts';

describe('createArrivals', () => {
  it('resolves with the first items once enough arrived, including ones that came before the wait', async () => {
    const arrivals = createArrivals<number>('numbers');
    arrivals.push(1);
    const waiting = arrivals.waitFor(3);
    arrivals.push(2);
    arrivals.push(3);
    arrivals.push(4);
    expect(await waiting).toEqual([1, 2, 3]);
    expect(arrivals.items).toEqual([1, 2, 3, 4]);
  });

  it('counts only matching items when given match', async () => {
    const arrivals = createArrivals<number>('numbers');
    const waiting = arrivals.waitFor(2, { match: (n) => n % 2 === 0 });
    for (const n of [1, 2, 3, 4, 6]) arrivals.push(n);
    expect(await waiting).toEqual([2, 4]);
  });

  it('rejects after the timeout naming what was expected and what arrived', async () => {
    const arrivals = createArrivals<string>('SSE events');
    arrivals.push('a');
    await expect(arrivals.waitFor(2, { timeoutMs: 20 })).rejects.toThrow('expected 2 SSE events within 20 ms, got 1: ["a"]');
    await expect(arrivals.waitFor(1, { match: (s) => s === 'b', timeoutMs: 20 })).rejects.toThrow(
      'expected 1 matching SSE events within 20 ms, got 0 matching of 1: ["a"]',
    );
  });
});
