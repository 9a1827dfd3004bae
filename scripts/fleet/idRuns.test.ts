import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdRuns } from './idRuns.ts';

describe('IdRuns', () => {
  it('keeps consecutive ids as one run and tells a repeat from an id out of order', () => {
    const ids = new IdRuns();
    const base = 1_765_000_000_000_000;
    for (let id = base + 1; id <= base + 500; id++) expect(ids.add(id)).toBe('next');
    expect(ids).toMatchObject({ size: 500, runs: 1, first: base + 1, last: base + 500 });
    expect(ids.add(base + 250)).toBe('repeat');
    expect(ids.add(base + 510)).toBe('next');
    expect(ids.add(base + 505)).toBe('out-of-order');
    expect(ids.describe()).toBe(`${base + 1}..${base + 500}, ${base + 505}, ${base + 510}`);
    expect(ids.size).toBe(502);
  });

  it('joins the runs an id out of order closes the gap between', () => {
    const ids = new IdRuns();
    for (const id of [1, 2, 4, 5]) ids.add(id);
    expect(ids.runs).toBe(2);
    expect(ids.add(3)).toBe('out-of-order');
    expect(ids).toMatchObject({ runs: 1, size: 5 });
    expect(ids.add(0)).toBe('out-of-order');
    expect(ids.describe()).toBe('0..5');
  });

  it('counts and lists what it holds of a sorted list in one walk', () => {
    const ids = new IdRuns();
    for (const id of [3, 4, 5, 9, 10]) ids.add(id);
    expect(ids.countIn([1, 3, 5, 6, 9, 11])).toBe(3);
    expect(ids.missingFrom([1, 3, 5, 6, 9, 11])).toEqual([1, 6, 11]);
    expect(ids.missingFrom([1, 3, 5, 6, 9, 11], 2)).toEqual([1, 6]);
  });

  it('agrees with a Set for any order of arrival', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 120 }), fc.uniqueArray(fc.integer({ min: 0, max: 70 })), (arrivals, probe) => {
        const ids = new IdRuns();
        const set = new Set<number>();
        let highest = -Infinity;
        for (const id of arrivals) {
          const expected = set.has(id) ? 'repeat' : id > highest ? 'next' : 'out-of-order';
          expect(ids.add(id)).toBe(expected);
          set.add(id);
          highest = Math.max(highest, id);
        }
        expect(ids.size).toBe(set.size);
        const sorted = [...probe].sort((a, b) => a - b);
        expect(ids.countIn(sorted)).toBe(sorted.filter((id) => set.has(id)).length);
        expect(ids.missingFrom(sorted)).toEqual(sorted.filter((id) => !set.has(id)));
        for (const id of probe) expect(ids.has(id)).toBe(set.has(id));
      }),
    );
  });
});
