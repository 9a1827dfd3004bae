import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { createExpiryCloser, expiryItems } from './expiryCloser.ts';

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
