import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChangeBurst } from './changeBurst.ts';

describe('change bursts', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('reports a burst once, after it went quiet, with each file once', () => {
    const bursts: string[][] = [];
    const burst = createChangeBurst({ quietMs: 200, maxWaitMs: 5000, onBurst: (files) => bursts.push(files) });
    burst.add('a.ts');
    vi.advanceTimersByTime(150);
    burst.add('b.ts');
    burst.add('a.ts');
    vi.advanceTimersByTime(150);
    expect(bursts).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(bursts).toEqual([['a.ts', 'b.ts']]);
    vi.advanceTimersByTime(10_000);
    expect(bursts).toHaveLength(1);
  });

  it('starts a new burst after the last one ended', () => {
    const bursts: string[][] = [];
    const burst = createChangeBurst({ quietMs: 100, maxWaitMs: 5000, onBurst: (files) => bursts.push(files) });
    burst.add('a.ts');
    vi.advanceTimersByTime(100);
    burst.add('a.ts');
    vi.advanceTimersByTime(100);
    expect(bursts).toEqual([['a.ts'], ['a.ts']]);
  });

  it('ends a burst that never goes quiet after maxWaitMs', () => {
    const bursts: string[][] = [];
    const burst = createChangeBurst({ quietMs: 100, maxWaitMs: 1000, onBurst: (files) => bursts.push(files) });
    for (let t = 0; t < 1500; t += 50) {
      burst.add(`f${t}.ts`);
      vi.advanceTimersByTime(50);
    }
    expect(bursts.length).toBe(1);
    expect(bursts[0]).toHaveLength(20);
    vi.advanceTimersByTime(100);
    expect(bursts.length).toBe(2);
  });

  it('cancel forgets what was collected', () => {
    const onBurst = vi.fn();
    const burst = createChangeBurst({ quietMs: 100, maxWaitMs: 1000, onBurst });
    burst.add('a.ts');
    burst.cancel();
    vi.advanceTimersByTime(2000);
    expect(onBurst).not.toHaveBeenCalled();
  });
});
