import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { createStreamExpiryCloser, streamExpiryItems, streamSweepItems, sweepPeriodEnd, SWEEP_CATCH_UP_PERIODS } from './streamExpiryCloser.ts';

afterEach(() => {
  vi.useRealTimers();
});

const T0 = 1_796_000_000; // a multiple of 60 and of 10

describe('stream expiry closer', () => {
  it('publishes the notice and a close to the channel of each transport, channel and exp at exp, one timer per exp', async () => {
    vi.useFakeTimers({ now: T0 * 1000 + 200 });
    const published: GripPublishItem[][] = [];
    const closed: string[] = [];
    const closer = createStreamExpiryCloser({ publish: async (items) => void published.push(items), onClosed: (t, c) => closed.push(`${t} ${c}`), sweepSeconds: 60, sweep: false });
    expect(closer.hold('sse', 'private-a', T0 + 5)).toEqual(['expiry:sse:1796000005:private-a', 'expiry:sse:1796000040']);
    closer.hold('sse', 'private-a', T0 + 5);
    closer.hold('stream', 'private-a', T0 + 5);
    closer.hold('sse', 'private-b', T0 + 9);
    expect(closer.scheduled).toBe(3);
    await vi.advanceTimersByTimeAsync(4_799);
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
    // An expiry on a period's end belongs to the next period: the sweep at that end would race the
    // notice published at the same instant, and its close won once (the stream ended without the notice).
    expect(sweepPeriodEnd(T0 + 20, 10)).toBe(T0 + 30);
    expect(sweepPeriodEnd(T0 + 19, 10)).toBe(T0 + 20);
    expect(sweepPeriodEnd(T0 + 21, 10)).toBe(T0 + 30);
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
