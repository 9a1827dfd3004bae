// A subscribe token given as `?token=` (EventSource cannot set headers) moves into
// `Authorization: Bearer` before the request goes on. URLs end up in logs (Fanout's, Pushpin's, a
// cache's) and in cache keys; a header does not, and a request with Authorization is never served
// from or stored in the shared cache. The origin reads the token from either place.

export type TokenPlacement =
  | { kind: 'none' }
  | { kind: 'moved'; url: string; authorization: string }
  /** Two tokens: answered here with a 400, so no URL holding a token goes any further. */
  | { kind: 'ambiguous'; message: string };

export function placeSubscribeToken(method: string, url: string, authorization: string | null): TokenPlacement {
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'none' };
  const parsed = new URL(url);
  const tokens = parsed.searchParams.getAll('token').filter((t) => t !== '');
  if (tokens.length === 0) return { kind: 'none' };
  if (tokens.length > 1) return { kind: 'ambiguous', message: 'give "token" once' };
  if (authorization !== null && authorization !== `Bearer ${tokens[0]}`) {
    return { kind: 'ambiguous', message: 'give the token either as ?token= or as "Authorization: Bearer", not both' };
  }
  parsed.searchParams.delete('token');
  return { kind: 'moved', url: parsed.toString(), authorization: `Bearer ${tokens[0]}` };
}
