// The readthrough cache in front of fetch(req, {backend}), which Fastly has and Viceroy lacks:
// GET/HEAD only, in memory, bounded by entries and bytes (least recently used goes first).
// Freshness: CacheOverride first (pass, ttl, swr), then Surrogate-Control, then Cache-Control
// (s-maxage over max-age), then Expires, else Fastly's default TTL. private, no-store, no-cache and
// Set-Cookie responses are not stored unless a CacheOverride TTL says so. A response with `Vary` is
// stored as one variant among others: keyed by the URL and by the values the request had for the
// headers Vary names (Accept-Encoding is the common case), as HTTP caches do; `Vary: *` is not stored.
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
  /** The URL key this entry is a variant of. */
  primaryKey: string;
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
  if (varyHeaderNames(headers) === '*') return undefined;
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

/** The request headers a response varies on (lower-case, sorted, each once), or `*` for "any". */
export function varyHeaderNames(headers: HeaderList): string[] | '*' {
  const names = new Set<string>();
  for (const name of (header(headers, 'vary') ?? '').split(',')) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed === '*') return '*';
    if (trimmed) names.add(trimmed);
  }
  return [...names].sort();
}

/** What identifies a variant: each named request header's value (absent is not the same as empty). */
function variantKey(primaryKey: string, names: string[], requestHeaders: HeaderList): string {
  if (names.length === 0) return primaryKey;
  const values = names.map((name) => {
    const value = header(requestHeaders, name);
    return value === undefined ? `${name}\u0000` : `${name}:${value.replace(/\s+/g, ' ').trim()}`;
  });
  return `${primaryKey}\n${values.join('\n')}`;
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
  /** Every variant, by variant key, least recently used first. */
  private entries = new Map<string, CachedResponse>();
  /** Per URL key: the headers its stored responses vary on, and the keys of its variants. */
  private variants = new Map<string, { names: string[]; keys: Set<string> }>();
  private bytes = 0;
  /** Variant keys being revalidated in the background (stale-while-revalidate), so only one refresh runs. */
  readonly revalidating = new Set<string>();

  constructor(readonly limits: CacheLimits = DEFAULT_CACHE_LIMITS) {}

  static key(backend: string, method: string, url: string): string {
    // HEAD is answered from a GET entry, as Fastly does.
    return `${backend} ${method === 'HEAD' ? 'GET' : method} ${url}`;
  }

  /** The key of the variant a request would get, given what is stored for its URL. */
  variantKeyFor(primaryKey: string, requestHeaders: HeaderList): string {
    return variantKey(primaryKey, this.variants.get(primaryKey)?.names ?? [], requestHeaders);
  }

  lookup(primaryKey: string, requestHeaders: HeaderList, now = Date.now()): Lookup {
    const key = this.variantKeyFor(primaryKey, requestHeaders);
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

  /** Stores the response a request got, as the variant for that request's values of the headers it Varies on. */
  store(
    primaryKey: string,
    requestHeaders: HeaderList,
    status: number,
    headers: HeaderList,
    body: Buffer,
    freshness: Freshness,
    now = Date.now(),
  ): boolean {
    const names = varyHeaderNames(headers);
    if (names === '*' || body.length > this.limits.maxEntryBytes) return false;
    const key = variantKey(primaryKey, names, requestHeaders);
    this.remove(key);
    const stored = this.variants.get(primaryKey);
    if (stored && stored.names.join('\n') !== names.join('\n')) {
      // The origin changed what it varies on: the old variants would be looked up by other headers.
      for (const old of [...stored.keys]) this.remove(old);
    }
    let group = this.variants.get(primaryKey);
    if (!group) {
      group = { names, keys: new Set() };
      this.variants.set(primaryKey, group);
    }
    group.keys.add(key);
    this.entries.set(key, {
      status,
      headers,
      body,
      storedAt: now,
      ttlMs: freshness.ttlSeconds * 1000,
      swrMs: freshness.swrSeconds * 1000,
      hits: 0,
      primaryKey,
    });
    this.bytes += body.length;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.remove(oldest);
    }
    return true;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= entry.body.length;
    this.entries.delete(key);
    const group = this.variants.get(entry.primaryKey);
    group?.keys.delete(key);
    if (group && group.keys.size === 0) this.variants.delete(entry.primaryKey);
  }

  /** Entries count each variant. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
