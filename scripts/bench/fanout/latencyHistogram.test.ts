import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyHistogram, merge, quantileOf, record } from './latencyHistogram.ts';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('latencyHistogram', () => {
  it('is empty: NaN quantiles', () => {
    expect(quantileOf(emptyHistogram(), 0.5)).toBeNaN();
  });

  it('quantiles within 1% of the exact nearest rank, exact min and max', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.05, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.constantFrom(0.5, 0.9, 0.99, 1), (values, q) => {
        const h = emptyHistogram();
        for (const v of values) record(h, v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = exactQuantile(sorted, q);
        expect(Math.abs(quantileOf(h, q) - exact)).toBeLessThanOrEqual(exact * 0.011);
        expect(h.min).toBe(sorted[0]);
        expect(h.max).toBe(sorted.at(-1));
        expect(h.count).toBe(values.length);
      }),
    );
  });

  it('merging two histograms is recording everything into one', () => {
    const a = emptyHistogram();
    const b = emptyHistogram();
    const all = emptyHistogram();
    [1, 2, 3, 400].forEach((v) => (record(a, v), record(all, v)));
    [5, 6, 7000].forEach((v) => (record(b, v), record(all, v)));
    merge(a, b);
    expect(a).toEqual(all);
  });

  it('survives a JSON round trip (load processes send it to the parent)', () => {
    const h = emptyHistogram();
    [3, 30, 300].forEach((v) => record(h, v));
    const back = JSON.parse(JSON.stringify(h)) as typeof h;
    expect(quantileOf(back, 0.5)).toBe(quantileOf(h, 0.5));
  });

  it('counts a slightly negative latency (clock step) as zero', () => {
    const h = emptyHistogram();
    record(h, -0.2);
    expect(h.min).toBe(0);
  });
});
