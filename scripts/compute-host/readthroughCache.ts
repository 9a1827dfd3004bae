// The readthrough cache in front of fetch(req, {backend}), which Fastly has and Viceroy lacks:
// GET/HEAD only, in memory, bounded by entries and bytes (least recently used goes first).
// Freshness: CacheOverride first (pass, ttl, swr), then Surrogate-Control, then Cache-Control
// (s-maxage over max-age), then Expires, else Fastly's default TTL. private, no-store, no-cache and
// Set-Cookie responses are not stored unless a CacheOverride TTL says so, nor are responses that Vary
// on anything but Accept-Encoding (entries are keyed by URL).
import type { CacheOverrideSetting, HeaderList } from './hostProtocol.ts';

export const DEFAULT_TTL_SECONDS = 3600;
/** Statuses Fastly caches by default. */
const CACHEABLE_STATUSES = new Set([200, 203, 300, 301, 302, 404, 410]);

export interface CachedResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
  storedAt: number;
  ttlMs: number;
  swrMs: number;
  hits: number;
}

export interface Freshness {
  ttlSeconds: number;
  swrSeconds: number;
}

function directives(value: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (!value) return out;
  for (const part of value.split(',')) {
    const [rawName, ...rest] = part.trim().split('=');
    const name = rawName?.trim().toLowerCase();
    if (!name) continue;
    out.set(name, rest.length > 0 ? rest.join('=').trim().replace(/^"|"$/g, '') : true);
  }
  return out;
}

function seconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function header(headers: HeaderList, name: string): string | undefined {
  const values = headers.filter(([n]) => n === name).map(([, v]) => v);
  return values.length > 0 ? values.join(', ') : undefined;
}

/** Whether and how long a response may be stored; undefined means "do not store". */
export function responseFreshness(
  status: number,
  headers: HeaderList,
  override: CacheOverrideSetting | undefined,
  now = Date.now(),
): Freshness | undefined {
  if (override?.pass) return undefined;
  const cacheControl = directives(header(headers, 'cache-control'));
  const surrogate = directives(header(headers, 'surrogate-control'));
  const swrFromOrigin = seconds(surrogate.get('stale-while-revalidate')) ?? seconds(cacheControl.get('stale-while-revalidate')) ?? 0;
  const swrSeconds = override?.swr ?? swrFromOrigin;
  if (override?.ttl !== undefined) return { ttlSeconds: override.ttl, swrSeconds };
  if (!CACHEABLE_STATUSES.has(status)) return undefined;
  if (header(headers, 'set-cookie') !== undefined) return undefined;
  // Entries are keyed by URL only: a response that varies on request headers is not stored.
  const vary = header(headers, 'vary')?.toLowerCase().split(',').map((v) => v.trim()).filter((v) => v && v !== 'accept-encoding');
  if (vary && vary.length > 0) return undefined;
  if (cacheControl.has('private') || cacheControl.has('no-store') || cacheControl.has('no-cache')) return undefined;
  const ttlSeconds =
    seconds(surrogate.get('max-age')) ??
    seconds(cacheControl.get('s-maxage')) ??
    seconds(cacheControl.get('max-age')) ??
    expiresTtl(header(headers, 'expires'), now) ??
    DEFAULT_TTL_SECONDS;
  if (ttlSeconds <= 0 && swrSeconds <= 0) return undefined;
  return { ttlSeconds, swrSeconds };
}

function expiresTtl(expires: string | undefined, now: number): number | undefined {
  if (!expires) return undefined;
  const at = Date.parse(expires);
  if (Number.isNaN(at)) return 0;
  return Math.max(0, Math.floor((at - now) / 1000));
}

export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
  maxEntryBytes: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = { maxEntries: 1000, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 8 * 1024 * 1024 };

export type Lookup =
  | { state: 'fresh'; entry: CachedResponse }
  | { state: 'stale'; entry: CachedResponse }
  | { state: 'miss' };

export class ReadthroughCache {
  private entries = new Map<string, CachedResponse>();
  private bytes = 0;
  /** Keys being revalidated in the background (stale-while-revalidate), so only one refresh runs. */
  readonly revalidating = new Set<string>();

  constructor(readonly limits: CacheLimits = DEFAULT_CACHE_LIMITS) {}

  static key(backend: string, method: string, url: string): string {
    // HEAD is answered from a GET entry, as Fastly does.
    return `${backend} ${method === 'HEAD' ? 'GET' : method} ${url}`;
  }

  lookup(key: string, now = Date.now()): Lookup {
    const entry = this.entries.get(key);
    if (!entry) return { state: 'miss' };
    const age = now - entry.storedAt;
    if (age > entry.ttlMs + entry.swrMs) {
      this.remove(key);
      return { state: 'miss' };
    }
    // Most recently used goes last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.hits += 1;
    return { state: age <= entry.ttlMs ? 'fresh' : 'stale', entry };
  }

  store(key: string, status: number, headers: HeaderList, body: Buffer, freshness: Freshness, now = Date.now()): boolean {
    if (body.length > this.limits.maxEntryBytes) return false;
    this.remove(key);
    this.entries.set(key, {
      status,
      headers,
      body,
      storedAt: now,
      ttlMs: freshness.ttlSeconds * 1000,
      swrMs: freshness.swrSeconds * 1000,
      hits: 0,
    });
    this.bytes += body.length;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.remove(oldest);
    }
    return true;
  }

  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= entry.body.length;
    this.entries.delete(key);
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
