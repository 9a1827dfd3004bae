import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { createExpiryCloser, expiryItems } from './expiryCloser.ts';
import { EXPIRY_REPEAT_SECONDS } from './expiryRepeat.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('expiry closer', () => {
  it('publishes an error frame and a 4001 close to the expiry channel at exp, once per exp', async () => {
    vi.useFakeTimers({ now: 1_796_000_000_000 });
    const published: GripPublishItem[][] = [];
    const closer = createExpiryCloser({ publish: async (items) => void published.push(items) });
    closer.schedule(1_796_000_005);
    closer.schedule(1_796_000_005);
    closer.schedule(1_796_000_009);
    expect(closer.scheduled).toBe(2);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(published).toEqual([expiryItems(1_796_000_005)]);
    expect(published[0]!.map((i) => i.channel)).toEqual(['expiry:ws:1796000005', 'expiry:ws:1796000005']);
    expect(published[0]![1]!.formats['ws-message']).toEqual({ action: 'close', code: 4001, reason: 'subscribe token expired' });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(published).toHaveLength(2);
    expect(closer.scheduled).toBe(0);
  });

  it('publishes again EXPIRY_REPEAT_SECONDS after exp when a connection subscribed its expiry channel less than that before exp (the proxy may apply it after exp)', async () => {
    const T0 = 1_796_000_000;
    const R = EXPIRY_REPEAT_SECONDS;
    vi.useFakeTimers({ now: T0 * 1000 });
    const published: GripPublishItem[][] = [];
    const closer = createExpiryCloser({ publish: async (items) => void published.push(items) });
    // Subscribed well before exp; a later call of that connection close to exp subscribes nothing new.
    closer.schedule(T0 + 10, { newSubscription: true });
    await vi.advanceTimersByTimeAsync(8_000);
    closer.schedule(T0 + 10, { newSubscription: false });
    // Another connection subscribes to the channel of a nearer expiry, 2 s before it.
    closer.schedule(T0 + 10 + R + 2, { newSubscription: false });
    closer.schedule(T0 + 11, { newSubscription: true });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(published).toEqual([expiryItems(T0 + 10)]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toEqual([expiryItems(T0 + 10), expiryItems(T0 + 11)]);
    await vi.advanceTimersByTimeAsync(R * 1000 - 1);
    expect(published).toHaveLength(2); // T0 + 10 is not repeated
    await vi.advanceTimersByTimeAsync(1);
    expect(published.slice(2)).toEqual([expiryItems(T0 + 11)]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published.slice(2)).toEqual([expiryItems(T0 + 11), expiryItems(T0 + 10 + R + 2)]);
    expect(closer.scheduled).toBe(0);
    closer.stop();
  });

  it('leaves expiries beyond the horizon to later keep-alive calls, and reports publish failures', async () => {
    vi.useFakeTimers({ now: 1_796_000_000_000 });
    const failures: number[] = [];
    const closer = createExpiryCloser({
      publish: async () => {
        throw new Error('proxy down');
      },
      onError: (exp) => failures.push(exp),
      horizonSeconds: 60,
    });
    closer.schedule(1_796_000_061);
    expect(closer.scheduled).toBe(0);
    closer.schedule(1_796_000_000 - 5);
    await vi.advanceTimersByTimeAsync(0);
    expect(failures).toEqual([1_796_000_000 - 5]);
    closer.schedule(1_796_000_030);
    closer.stop();
    expect(closer.scheduled).toBe(0);
  });
});
