import { describe, expect, it } from 'vitest';
import type { HeaderList } from './hostProtocol.ts';
import { DEFAULT_TTL_SECONDS, ReadthroughCache, responseFreshness, varyHeaderNames } from './readthroughCache.ts';

describe('responseFreshness', () => {
  it('prefers s-maxage over max-age, and Surrogate-Control over both', () => {
    expect(responseFreshness(200, [['cache-control', 'max-age=10, s-maxage=20']], undefined)?.ttlSeconds).toBe(20);
    expect(responseFreshness(200, [['cache-control', 'max-age=10']], undefined)?.ttlSeconds).toBe(10);
    expect(
      responseFreshness(200, [['cache-control', 'max-age=10'], ['surrogate-control', 'max-age=99']], undefined)?.ttlSeconds,
    ).toBe(99);
  });

  it('does not store private, no-store, no-cache, Set-Cookie or Vary: * responses', () => {
    for (const value of ['private, max-age=60', 'no-store', 'no-cache']) {
      expect(responseFreshness(200, [['cache-control', value]], undefined)).toBeUndefined();
    }
    expect(responseFreshness(200, [['set-cookie', 'a=b']], undefined)).toBeUndefined();
    expect(responseFreshness(200, [['vary', '*']], undefined)).toBeUndefined();
    expect(responseFreshness(200, [['vary', 'Accept-Encoding, *']], undefined)).toBeUndefined();
    // Varying responses are stored, per variant (see ReadthroughCache).
    expect(responseFreshness(200, [['vary', 'Cookie']], undefined)?.ttlSeconds).toBe(DEFAULT_TTL_SECONDS);
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

describe('varyHeaderNames', () => {
  it('lists the named request headers once, lower-case and sorted, or * for any', () => {
    expect(varyHeaderNames([['vary', 'Accept-Encoding, accept-language'], ['vary', 'ACCEPT-ENCODING']])).toEqual([
      'accept-encoding',
      'accept-language',
    ]);
    expect(varyHeaderNames([])).toEqual([]);
    expect(varyHeaderNames([['vary', 'Origin, *']])).toBe('*');
  });
});

describe('ReadthroughCache', () => {
  const body = (n: number): Buffer => Buffer.alloc(n, 1);
  const fresh = { ttlSeconds: 60, swrSeconds: 0 };
  const none: HeaderList = [];

  it('answers fresh, then stale within stale-while-revalidate, then misses', () => {
    const cache = new ReadthroughCache();
    cache.store('k', none, 200, [], body(3), { ttlSeconds: 10, swrSeconds: 5 }, 0);
    expect(cache.lookup('k', none, 9_000).state).toBe('fresh');
    expect(cache.lookup('k', none, 12_000).state).toBe('stale');
    expect(cache.lookup('k', none, 16_000).state).toBe('miss');
  });

  it('replaces a stored response with a newer one for the same request', () => {
    const cache = new ReadthroughCache();
    cache.store('k', none, 200, [], Buffer.from('old'), fresh, 0);
    cache.store('k', none, 200, [], Buffer.from('new'), fresh, 1);
    const found = cache.lookup('k', none, 2);
    expect(found.state === 'fresh' && found.entry.body.toString()).toBe('new');
    expect(cache.size).toEqual({ entries: 1, bytes: 3 });
  });

  it('evicts the least recently used entry past its entry and byte limits', () => {
    const cache = new ReadthroughCache({ maxEntries: 2, maxBytes: 100, maxEntryBytes: 80 });
    cache.store('a', none, 200, [], body(10), fresh, 0);
    cache.store('b', none, 200, [], body(10), fresh, 0);
    cache.lookup('a', none, 1);
    cache.store('c', none, 200, [], body(10), fresh, 0);
    expect(cache.lookup('b', none, 1).state).toBe('miss');
    expect(cache.lookup('a', none, 1).state).toBe('fresh');
    expect(cache.store('huge', none, 200, [], body(81), fresh, 0)).toBe(false);
    cache.store('d', none, 200, [], body(80), fresh, 0);
    cache.store('e', none, 200, [], body(30), fresh, 0);
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
  });

  it('answers HEAD from the GET entry', () => {
    expect(ReadthroughCache.key('origin', 'HEAD', '/x')).toBe(ReadthroughCache.key('origin', 'GET', '/x'));
  });

  it('keeps one variant per value of the headers a response Varies on, and serves each only to its own', () => {
    const cache = new ReadthroughCache();
    const vary: HeaderList = [['vary', 'Accept-Encoding']];
    const gzip: HeaderList = [['accept-encoding', 'gzip']];
    const identity: HeaderList = [['accept-encoding', 'identity']];
    cache.store('k', gzip, 200, vary, Buffer.from('zipped'), fresh, 0);
    expect(cache.lookup('k', identity, 1).state).toBe('miss');
    expect(cache.lookup('k', none, 1).state).toBe('miss');
    cache.store('k', identity, 200, vary, Buffer.from('plain'), fresh, 0);
    cache.store('k', none, 200, vary, Buffer.from('no header'), fresh, 0);
    const bodyFor = (headers: HeaderList): string | undefined => {
      const found = cache.lookup('k', headers, 2);
      return found.state === 'miss' ? undefined : found.entry.body.toString();
    };
    expect([bodyFor(gzip), bodyFor(identity), bodyFor(none), bodyFor([['accept-encoding', '']])]).toEqual([
      'zipped',
      'plain',
      'no header',
      undefined,
    ]);
    // Values are compared with their whitespace runs collapsed.
    expect(bodyFor([['accept-encoding', '  gzip ']])).toBe('zipped');
    expect(cache.size.entries).toBe(3);
  });

  it('drops the old variants when the origin changes what it varies on, and never stores Vary: *', () => {
    const cache = new ReadthroughCache();
    const fr: HeaderList = [['accept-language', 'fr'], ['accept-encoding', 'gzip']];
    cache.store('k', fr, 200, [['vary', 'Accept-Language']], body(1), fresh, 0);
    cache.store('k', fr, 200, [['vary', 'Accept-Encoding']], body(2), fresh, 0);
    expect(cache.size.entries).toBe(1);
    expect(cache.lookup('k', [['accept-encoding', 'gzip']], 1).state).toBe('fresh');
    expect(cache.store('star', none, 200, [['vary', '*']], body(1), fresh, 0)).toBe(false);
    expect(cache.lookup('star', none, 1).state).toBe('miss');
  });
});
