import { describe, expect, it } from 'vitest';
import { emptyTimeline, mergeTimeline, recordDelivery, timelinePoints } from './latencyTimeline.ts';

describe('latency timeline', () => {
  it('groups deliveries by the second after the start their message was published in', () => {
    const start = 1_000_000;
    const a = emptyTimeline(start);
    recordDelivery(a, start + 100, start + 5100); // published in second 0, waited 5 s
    recordDelivery(a, start + 900, start + 920);
    const b = emptyTimeline(start);
    recordDelivery(b, start + 1500, start + 1510); // second 1
    mergeTimeline(a, b);
    const points = timelinePoints(a);
    expect(points.map((p) => [p.second, p.deliveries])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    expect(points[0]!.max).toBeCloseTo(5000, 0);
    expect(points[1]!.p50).toBeCloseTo(10, 0);
    expect(a.overall.count).toBe(3);
  });
});
