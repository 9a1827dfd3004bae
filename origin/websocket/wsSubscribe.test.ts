import { afterEach, describe, expect, it, vi } from 'vitest';
import { beginSubscribe, DEFAULT_SUBSCRIBE_LIMITS, type SubscribeHistory } from './wsSubscribe.ts';

/** A history whose publishes stay in flight for `clearsAfterChecks` checks (Infinity: never). */
function historyInFlight(clearsAfterChecks: number): { history: SubscribeHistory; checks: () => number; cancelled: () => number } {
  let checks = 0;
  let cancelled = 0;
  const history = {
    beginSubscribe: async () => ({ busy: false, inFlight: ['7'] }),
    stillInFlight: async (_channel: string, ids: string[]) => (++checks >= clearsAfterChecks ? [] : ids),
    cancelSubscribe: async () => {
      cancelled++;
    },
  } as unknown as SubscribeHistory;
  return { history, checks: () => checks, cancelled: () => cancelled };
}

describe('beginSubscribe waiting for publishes in flight', () => {
  afterEach(() => vi.useRealTimers());
  // The clock moves only by what the waiting sleeps.
  function fakeSleep(slept: number[]): (ms: number) => Promise<void> {
    vi.useFakeTimers({ toFake: ['Date'] });
    return async (ms) => {
      slept.push(ms);
      vi.setSystemTime(Date.now() + ms);
    };
  }

  it('looks again 2 ms later first: a publish in flight usually lands within milliseconds', async () => {
    const slept: number[] = [];
    const { history, checks } = historyInFlight(1);
    expect(await beginSubscribe(history, 'c', 'u', DEFAULT_SUBSCRIBE_LIMITS, fakeSleep(slept))).toEqual({ ok: true });
    expect(slept).toEqual([2]);
    expect(checks()).toBe(1);
  });

  it('backs off while a publish stays in flight (a timed-out one counts for a minute): a few dozen checks, not thousands, then subscribe_busy', async () => {
    const slept: number[] = [];
    const { history, checks, cancelled } = historyInFlight(Infinity);
    const outcome = await beginSubscribe(history, 'c', 'u', DEFAULT_SUBSCRIBE_LIMITS, fakeSleep(slept));
    expect(outcome).toMatchObject({ ok: false, code: 'subscribe_busy' });
    expect(cancelled()).toBe(1);
    // Every 2 ms for the 5 s wait was 2,500 store round trips (Redis calls) per subscribe attempt.
    expect(checks()).toBeLessThan(80);
    expect(Math.max(...slept)).toBeLessThanOrEqual(100);
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(DEFAULT_SUBSCRIBE_LIMITS.inFlightWaitMs);
  });
});
