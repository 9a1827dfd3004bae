// fetch(req, {backend}) through the readthrough cache. A miss streams to the guest while a copy is
// kept for the cache; a stale entry (within stale-while-revalidate) is served while one background
// request refreshes it. A response that Varies is stored per variant (readthroughCache.ts). Every
// response says what happened in `x-cache: HIT | MISS | PASS`.
import { HostBody } from './hostBody.ts';
import { sendToBackend, type BackendResponse, type HostBackend } from './backendClient.ts';
import { ReadthroughCache, responseFreshness } from './readthroughCache.ts';
import type { HeaderList, RequestHead } from './hostProtocol.ts';

export const CACHE_STATUS_HEADER = 'x-cache';

function withHeader(headers: HeaderList, name: string, value: string): HeaderList {
  return [...headers.filter(([n]) => n !== name), [name, value]];
}

function cacheKey(head: RequestHead, backend: HostBackend): string {
  let url = head.uri;
  try {
    const parsed = new URL(head.uri, 'http://placeholder');
    url = `${parsed.pathname}${parsed.search}`;
  } catch {
    // keep the raw URI
  }
  const host = head.headers.find(([n]) => n === 'host')?.[1] ?? '';
  return ReadthroughCache.key(backend.name, head.method, `${host}${url}`);
}

function fromEntry(cache: ReadthroughCache, key: string, head: RequestHead): BackendResponse | undefined {
  const found = cache.lookup(key, head.headers);
  if (found.state === 'miss') return undefined;
  const entry = found.entry;
  const age = Math.floor((Date.now() - entry.storedAt) / 1000);
  let headers = withHeader(entry.headers, 'age', String(age));
  headers = withHeader(headers, CACHE_STATUS_HEADER, found.state === 'fresh' ? 'HIT' : 'HIT-STALE');
  headers = withHeader(headers, 'x-cache-hits', String(entry.hits));
  return {
    head: { status: entry.status, headers },
    body: HostBody.fromBytes(head.method === 'HEAD' ? new Uint8Array() : entry.body),
  };
}

function storeWhenComplete(cache: ReadthroughCache, key: string, response: BackendResponse, head: RequestHead, log: (line: string) => void): void {
  const freshness = responseFreshness(response.head.status, response.head.headers, head.cacheOverride);
  if (!freshness || head.method === 'HEAD') return;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  response.body.observe(
    (chunk) => {
      size += chunk.length;
      if (size > cache.limits.maxEntryBytes) tooBig = true;
      else chunks.push(chunk);
    },
    () => {
      if (tooBig) return;
      const body = Buffer.concat(chunks);
      // The stored object has a length even when the origin streamed it (HEAD answers tell it).
      const headers = withHeader(
        response.head.headers.filter(([n]) => n !== CACHE_STATUS_HEADER && n !== 'transfer-encoding'),
        'content-length',
        String(body.length),
      );
      // Stored as the variant for this request's values of the headers the response Varies on.
      if (cache.store(key, head.headers, response.head.status, headers, body, freshness)) {
        log(`cache: stored ${key} for ${freshness.ttlSeconds}s (+${freshness.swrSeconds}s stale-while-revalidate)`);
      }
    },
  );
}

/** Makes the backend request for a guest (sendToBackend, with the host's limits around it). */
export type Upstream = (head: RequestHead, body: HostBody) => Promise<BackendResponse>;

export async function cachedSend(
  cache: ReadthroughCache,
  head: RequestHead,
  body: HostBody,
  backend: HostBackend,
  useCache: boolean,
  log: (line: string) => void,
  upstream: Upstream = (h, b) => sendToBackend(h, b, backend),
): Promise<BackendResponse> {
  const cacheable = useCache && (head.method === 'GET' || head.method === 'HEAD') && !head.cacheOverride?.pass;
  if (!cacheable) {
    const response = await upstream(head, body);
    response.head.headers = withHeader(response.head.headers, CACHE_STATUS_HEADER, 'PASS');
    return response;
  }
  const key = cacheKey(head, backend);
  const hit = fromEntry(cache, key, head);
  if (hit) {
    body.abandon();
    log(`cache: ${hit.head.headers.find(([n]) => n === CACHE_STATUS_HEADER)?.[1]} ${key}`);
    const variant = cache.variantKeyFor(key, head.headers);
    if (hit.head.headers.some(([n, v]) => n === CACHE_STATUS_HEADER && v === 'HIT-STALE') && !cache.revalidating.has(variant)) {
      cache.revalidating.add(variant);
      const refresh = { ...head, method: 'GET' };
      // In the background, for the cache: no guest waits on it, so no limit applies.
      sendToBackend(refresh, HostBody.fromBytes(new Uint8Array()), backend)
        .then(async (fresh) => {
          storeWhenComplete(cache, key, fresh, refresh, log);
          // Reading it to the end is what stores it.
          while ((await fresh.body.read(64 * 1024)).length > 0);
        })
        .catch((error: Error) => log(`cache: revalidation of ${key} failed: ${error.message}`))
        .finally(() => cache.revalidating.delete(variant));
    }
    return hit;
  }
  const response = await upstream(head, body);
  log(`cache: MISS ${key}`);
  response.head.headers = withHeader(response.head.headers, CACHE_STATUS_HEADER, 'MISS');
  storeWhenComplete(cache, key, response, head, log);
  return response;
}
