// Headers only the proxy may set. A client sending them could pose as Fanout/Pushpin to the origin
// (a forged Grip-Sig), pick a Pushpin route, or inject WebSocket-over-HTTP connection state.

const PROXY_HEADER_PREFIXES = ['grip-', 'pushpin-', 'meta-'];
const PROXY_HEADER_NAMES = new Set(['connection-id']);

/** True for `Grip-*`, `Pushpin-*` (e.g. Pushpin-Route), `Meta-*` and `Connection-Id`, in any case. */
export function isProxyOnlyHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return PROXY_HEADER_NAMES.has(lower) || PROXY_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** The names of client-sent proxy-only headers in `headers` (lower case). */
export function proxyOnlyHeaderNames(headers: Headers): string[] {
  const names: string[] = [];
  headers.forEach((_value, name) => {
    if (isProxyOnlyHeader(name)) names.push(name.toLowerCase());
  });
  return names;
}

/** A copy of `headers` without its proxy-only headers, and the names left out (lower case). */
export function withoutProxyOnlyHeaders(headers: Headers): { headers: Headers; removed: string[] } {
  const removed = proxyOnlyHeaderNames(headers);
  const kept = new Headers(headers);
  for (const name of removed) kept.delete(name);
  return { headers: kept, removed };
}
