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

/** Deletes every proxy-only header from `headers` in place; returns the names removed. */
export function removeProxyOnlyHeaders(headers: Headers): string[] {
  const names = proxyOnlyHeaderNames(headers);
  for (const name of names) headers.delete(name);
  return names;
}
