import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { createStreamExpiryCloser, streamExpiryItems, streamSweepItems, sweepPeriodEnd, SWEEP_CATCH_UP_PERIODS } from './streamExpiryCloser.ts';
import { EXPIRY_REPEAT_SECONDS } from './expiryRepeat.ts';

afterEach(() => {
  vi.useRealTimers();
});

const T0 = 1_796_000_000; // a multiple of 10 and of 40 (not of 60)

describe('stream expiry closer', () => {
  it('publishes the notice and a close to the channel of each transport, channel and exp at exp, one timer per exp', async () => {
    // Answered more than EXPIRY_REPEAT_SECONDS before exp: no repeat.
    vi.useFakeTimers({ now: T0 * 1000 - 800 });
    const published: GripPublishItem[][] = [];
    const closed: string[] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), onClosed: (t, c) => closed.push(`${t} ${c}`), sweepSeconds: 60, sweep: false });
    expect(closer.hold('sse', 'private-a', T0 + 5)).toEqual(['expiry:sse:1796000005:private-a', 'expiry:sse:1796000040']);
    closer.hold('sse', 'private-a', T0 + 5);
    closer.hold('stream', 'private-a', T0 + 5);
    closer.hold('sse', 'private-b', T0 + 9);
    expect(closer.scheduled).toBe(3);
    await vi.advanceTimersByTimeAsync(5_799);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(published).toEqual([[...streamExpiryItems('sse', 'private-a', T0 + 5), ...streamExpiryItems('stream', 'private-a', T0 + 5)]]);
    expect(published[0]![0]).toEqual({ channel: 'expiry:sse:1796000005:private-a', formats: { 'http-stream': { content: 'event: token-expired\ndata: {"channel":"private-a"}\n\n' } } });
    expect(published[0]![1]).toEqual({ channel: 'expiry:sse:1796000005:private-a', formats: { 'http-stream': { action: 'close' } } });
    expect(published[0]![2]!.formats['http-stream']).toEqual({ content: '{"type":"token_expired","channel":"private-a"}\n' });
    expect(closed).toEqual(['sse private-a', 'stream private-a']);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(published).toHaveLength(2);
    expect(closer.scheduled).toBe(0);
    closer.stop();
  });

  it('publishes an expiry again EXPIRY_REPEAT_SECONDS after exp for the holds answered less than that before it, or after it (the proxy may subscribe them after exp)', async () => {
    const R = EXPIRY_REPEAT_SECONDS;
    const exp = T0 + 10;
    vi.useFakeTimers({ now: T0 * 1000 });
    const published: GripPublishItem[][] = [];
    const closed: string[] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), onClosed: (t, c) => closed.push(`${t} ${c}`), sweepSeconds: 60, sweep: false });
    // Answered early enough: subscribed by exp, closed at exp only.
    closer.hold('sse', 'private-early', exp);
    await vi.advanceTimersByTimeAsync((10 - R) * 1000 + 1);
    // Answered less than R before exp: the proxy may subscribe them after the publish at exp.
    closer.hold('sse', 'private-late', exp);
    closer.hold('stream', 'private-late', exp);
    await vi.advanceTimersByTimeAsync(exp * 1000 - Date.now());
    expect(published).toEqual([[...streamExpiryItems('sse', 'private-early', exp), ...streamExpiryItems('sse', 'private-late', exp), ...streamExpiryItems('stream', 'private-late', exp)]]);
    expect(closed).toEqual(['sse private-early', 'sse private-late', 'stream private-late']);
    expect(closer.scheduled).toBe(2);
    await vi.advanceTimersByTimeAsync(R * 1000 - 1);
    expect(published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(published[1]).toEqual([...streamExpiryItems('sse', 'private-late', exp), ...streamExpiryItems('stream', 'private-late', exp)]);
    expect(closed).toHaveLength(3); // counted once
    expect(closer.scheduled).toBe(0);
    // A hold answered after exp (its token was checked before exp, the history read took a while):
    // nothing at once, before the proxy can have subscribed it; the repeat R after the answer.
    await vi.advanceTimersByTimeAsync(1_000);
    const answeredAt = Date.now();
    closer.hold('sse', 'private-after', exp);
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(answeredAt + R * 1000 - Date.now() - 1);
    expect(published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(published[2]).toEqual(streamExpiryItems('sse', 'private-after', exp));
    expect(closed).toEqual(['sse private-early', 'sse private-late', 'stream private-late', 'sse private-after']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published).toHaveLength(3);
    closer.stop();
  });

  it('stop() also drops the repeats', async () => {
    vi.useFakeTimers({ now: T0 * 1000 });
    const published: GripPublishItem[][] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), sweepSeconds: 60, sweep: false });
    closer.hold('sse', 'private-late', T0 + 1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toHaveLength(1);
    closer.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published).toHaveLength(1);
  });

  it('waits for an expiry beyond setTimeout\'s range in steps', async () => {
    vi.useFakeTimers({ now: T0 * 1000 });
    const published: GripPublishItem[][] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), sweepSeconds: 60, sweep: false });
    const exp = T0 + 40 * 24 * 3600;
    closer.hold('stream', 'private-long', exp);
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync((exp - T0) * 1000 - (2 ** 31 - 1) - 1);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(published).toEqual([streamExpiryItems('stream', 'private-long', exp)]);
    closer.stop();
  });

  it('sweeps: from the first period end, closes every period that ended (the ones before the start too), and tries a failed one again', async () => {
    vi.useFakeTimers({ now: T0 * 1000 + 3_000 });
    const published: GripPublishItem[][] = [];
    const errors: string[] = [];
    let failNext = false;
    const closer = createStreamExpiryCloser({
      publish: async (items) => {
        if (failNext) {
          failNext = false;
          throw new Error('proxy down');
        }
        published.push(items);
      },
      onError: (what) => errors.push(what),
      sweepSeconds: 10,
      sweep: true,
    });
    // A stream whose token expires at T0 + 14 holds the period ending T0 + 20.
    expect(closer.hold('sse', 'private-c', T0 + 14)[1]).toBe('expiry:sse:1796000020');
    // A period's sweep closes the expiries at least EXPIRY_REPEAT_SECONDS (5) before its end: a stream
    // answered shortly before exp may be subscribed after exp, and would miss an earlier sweep's close
    // (nothing would ever end it if its origin was gone too); and the sweep at the instant of the
    // notice at exp, or of its repeat, would race it (the close won once: no notice).
    expect(sweepPeriodEnd(T0 + 15, 10)).toBe(T0 + 30);
    expect(sweepPeriodEnd(T0 + 19, 10)).toBe(T0 + 30);
    expect(sweepPeriodEnd(T0 + 20, 10)).toBe(T0 + 30);
    expect(sweepPeriodEnd(T0 + 14, 10)).toBe(T0 + 20);
    expect(sweepPeriodEnd(T0 + 21, 10)).toBe(T0 + 30);
    expect(sweepPeriodEnd(T0 + 25, 10)).toBe(T0 + 40);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(published).toEqual([]); // nothing at start
    await vi.advanceTimersByTimeAsync(1);
    const firstEnds = Array.from({ length: SWEEP_CATCH_UP_PERIODS }, (_, i) => T0 + 10 - (SWEEP_CATCH_UP_PERIODS - 1 - i) * 10);
    expect(published).toEqual([firstEnds.flatMap((at) => streamSweepItems(at))]);
    expect(streamSweepItems(T0 + 10)).toEqual([
      { channel: 'expiry:sse:1796000010', formats: { 'http-stream': { action: 'close' } } },
      { channel: 'expiry:stream:1796000010', formats: { 'http-stream': { action: 'close' } } },
    ]);
    published.length = 0;
    // T0 + 14: the exact close; T0 + 20: the sweep fails; T0 + 30: both periods.
    await vi.advanceTimersByTimeAsync(4_000);
    expect(published).toEqual([streamExpiryItems('sse', 'private-c', T0 + 14)]);
    published.length = 0;
    failNext = true;
    await vi.advanceTimersByTimeAsync(6_000);
    expect(published).toEqual([]);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(published).toEqual([[...streamSweepItems(T0 + 20), ...streamSweepItems(T0 + 30)]]);
    closer.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published).toHaveLength(1);
  });

  it('does not sweep where private channels cannot be subscribed', async () => {
    vi.useFakeTimers({ now: T0 * 1000 });
    const published: GripPublishItem[][] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), sweepSeconds: 10, sweep: false });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published).toEqual([]);
    closer.stop();
  });
});
