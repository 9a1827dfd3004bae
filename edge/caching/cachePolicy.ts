// How a forwarded (non-realtime) request uses the Fastly cache. The decision is data; the edge turns it
// into a CacheOverride: `pass` skips the cache, `override` forces a TTL whatever the origin's
// Cache-Control says, `none` leaves caching to the origin's Cache-Control / Surrogate-Control.
import { longestMatchingPrefix, matchesPathPrefix } from '../routing/pathPrefix.ts';

export type CacheDecision =
  | { mode: 'pass'; reason: 'method' | 'pass-path' | 'credentials' }
  | { mode: 'override'; ttl: number; prefix: string }
  | { mode: 'none' };

export interface CachePlan {
  decision: CacheDecision;
  /** The URL to fetch (and so the cache key): the request's, without its query under a strip-query prefix. */
  url: string;
}

export interface CacheSettings {
  cacheTtlOverrides: ReadonlyMap<string, number>;
  passRequestHeaders: readonly string[];
  passPaths: readonly string[];
  stripQueryPaths: readonly string[];
}

function isCacheableMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export function decideCaching(request: Request, settings: CacheSettings): CacheDecision {
  if (!isCacheableMethod(request.method)) return { mode: 'pass', reason: 'method' };
  const { pathname } = new URL(request.url);
  if (settings.passPaths.some((prefix) => matchesPathPrefix(pathname, prefix))) return { mode: 'pass', reason: 'pass-path' };
  // A response to a credentialed request may be personal; never store or serve it from the shared cache.
  if (settings.passRequestHeaders.some((name) => request.headers.has(name))) return { mode: 'pass', reason: 'credentials' };
  const prefix = longestMatchingPrefix(pathname, settings.cacheTtlOverrides.keys());
  if (prefix !== undefined) return { mode: 'override', ttl: settings.cacheTtlOverrides.get(prefix)!, prefix };
  return { mode: 'none' };
}

/** The URL to forward: the query string is dropped for GET/HEAD below a strip-query prefix. */
export function cacheKeyUrl(request: Request, settings: Pick<CacheSettings, 'stripQueryPaths'>): string {
  const url = new URL(request.url);
  if (!isCacheableMethod(request.method) || url.search === '') return request.url;
  if (!settings.stripQueryPaths.some((prefix) => matchesPathPrefix(url.pathname, prefix))) return request.url;
  url.search = '';
  return url.toString();
}

export function planCaching(request: Request, settings: CacheSettings): CachePlan {
  return { decision: decideCaching(request, settings), url: cacheKeyUrl(request, settings) };
}
