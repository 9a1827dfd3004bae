import { describe, expect, it } from 'vitest';
import { DEFAULT_TTL_SECONDS, ReadthroughCache, responseFreshness } from './readthroughCache.ts';

describe('responseFreshness', () => {
  it('prefers s-maxage over max-age, and Surrogate-Control over both', () => {
    expect(responseFreshness(200, [['cache-control', 'max-age=10, s-maxage=20']], undefined)?.ttlSeconds).toBe(20);
    expect(responseFreshness(200, [['cache-control', 'max-age=10']], undefined)?.ttlSeconds).toBe(10);
    expect(
      responseFreshness(200, [['cache-control', 'max-age=10'], ['surrogate-control', 'max-age=99']], undefined)?.ttlSeconds,
    ).toBe(99);
  });

  it('does not store private, no-store, no-cache, Set-Cookie or Vary: <request header> responses', () => {
    for (const value of ['private, max-age=60', 'no-store', 'no-cache']) {
      expect(responseFreshness(200, [['cache-control', value]], undefined)).toBeUndefined();
    }
    expect(responseFreshness(200, [['set-cookie', 'a=b']], undefined)).toBeUndefined();
    expect(responseFreshness(200, [['vary', 'Cookie']], undefined)).toBeUndefined();
    expect(responseFreshness(200, [['vary', 'Accept-Encoding']], undefined)?.ttlSeconds).toBe(DEFAULT_TTL_SECONDS);
  });

  it('uses the default TTL without freshness information, and Expires when given', () => {
    expect(responseFreshness(200, [], undefined)?.ttlSeconds).toBe(DEFAULT_TTL_SECONDS);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(responseFreshness(200, [['expires', 'Thu, 01 Jan 2026 00:01:00 GMT']], undefined, now)?.ttlSeconds).toBe(60);
  });

  it('does not store uncacheable statuses', () => {
    expect(responseFreshness(500, [['cache-control', 'max-age=60']], undefined)).toBeUndefined();
    expect(responseFreshness(404, [['cache-control', 'max-age=60']], undefined)?.ttlSeconds).toBe(60);
  });

  it('lets a CacheOverride pass, or set TTL and stale-while-revalidate over the origin', () => {
    expect(responseFreshness(200, [['cache-control', 'max-age=60']], { pass: true })).toBeUndefined();
    expect(responseFreshness(200, [['cache-control', 'no-store']], { pass: false, ttl: 5, swr: 7 })).toEqual({ ttlSeconds: 5, swrSeconds: 7 });
    expect(responseFreshness(200, [['cache-control', 'max-age=60, stale-while-revalidate=30']], undefined)).toEqual({
      ttlSeconds: 60,
      swrSeconds: 30,
    });
  });
});

describe('ReadthroughCache', () => {
  const body = (n: number): Buffer => Buffer.alloc(n, 1);

  it('answers fresh, then stale within stale-while-revalidate, then misses', () => {
    const cache = new ReadthroughCache();
    cache.store('k', 200, [], body(3), { ttlSeconds: 10, swrSeconds: 5 }, 0);
    expect(cache.lookup('k', 9_000).state).toBe('fresh');
    expect(cache.lookup('k', 12_000).state).toBe('stale');
    expect(cache.lookup('k', 16_000).state).toBe('miss');
  });

  it('evicts the least recently used entry past its entry and byte limits', () => {
    const cache = new ReadthroughCache({ maxEntries: 2, maxBytes: 100, maxEntryBytes: 80 });
    const fresh = { ttlSeconds: 60, swrSeconds: 0 };
    cache.store('a', 200, [], body(10), fresh, 0);
    cache.store('b', 200, [], body(10), fresh, 0);
    cache.lookup('a', 1);
    cache.store('c', 200, [], body(10), fresh, 0);
    expect(cache.lookup('b', 1).state).toBe('miss');
    expect(cache.lookup('a', 1).state).toBe('fresh');
    expect(cache.store('huge', 200, [], body(81), fresh, 0)).toBe(false);
    cache.store('d', 200, [], body(80), fresh, 0);
    cache.store('e', 200, [], body(30), fresh, 0);
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
  });

  it('answers HEAD from the GET entry', () => {
    expect(ReadthroughCache.key('origin', 'HEAD', '/x')).toBe(ReadthroughCache.key('origin', 'GET', '/x'));
  });
});
