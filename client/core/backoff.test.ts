import fc from 'fast-check';
import { expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.ts';

it('waits between 0 and an exponential ceiling capped at the maximum (full jitter)', () => {
  const settings = { baseMs: 100, maxMs: 5000 };
  expect(backoffDelayMs(settings, 0, 0.999)).toBe(99);
  expect(backoffDelayMs(settings, 3, 0.5)).toBe(400);
  expect(backoffDelayMs(settings, 50, 0.5)).toBe(2500);
  fc.assert(
    fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, random) => {
      const delay = backoffDelayMs(settings, failures, random);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(settings.maxMs, settings.baseMs * 2 ** failures));
    }),
  );
});
