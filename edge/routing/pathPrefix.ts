// Path-prefix matching shared by every edge rule (realtime paths, TTLs, pass paths, query stripping).
// Matching respects path segments, so a prefix "/ws" matches "/ws" and "/ws/chat" but not "/wsdl";
// a prefix ending in "/" ("/events/") matches anything below it.

export function matchesPathPrefix(pathname: string, prefix: string): boolean {
  if (!pathname.startsWith(prefix)) return false;
  return prefix.endsWith('/') || pathname.length === prefix.length || pathname[prefix.length] === '/';
}

/** The longest of `prefixes` that matches `pathname`, so a specific rule beats a general one. */
export function longestMatchingPrefix(pathname: string, prefixes: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const prefix of prefixes) {
    if (matchesPathPrefix(pathname, prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best;
}
