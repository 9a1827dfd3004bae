// Subscribe tokens are JWTs whose `exp` (seconds) ends the subscription: the client reads it (no
// verification: the origin verifies) to fetch a fresh token before then, and to tell a fixed token that
// expired from one that is refused.

/** The token's `exp` in milliseconds, or undefined when it is not a JWT with a numeric `exp`. */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When to fetch the next token: `leadMs` before `exp`, by default a quarter of the token's remaining
 * lifetime, at least 1 s and at most 60 s before it (a 4 s token is refreshed after 3 s, an hour's 60 s
 * before its end). Never: a token without `exp`.
 */
export function tokenRefreshAt(now: number, expMs: number | undefined, leadMs?: number): number {
  if (expMs === undefined) return Infinity;
  const lead = leadMs ?? Math.min(60_000, Math.max(1000, (expMs - now) / 4));
  return Math.max(now, expMs - lead);
}
