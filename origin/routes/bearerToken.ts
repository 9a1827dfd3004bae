// The bearer-token guard shared by the publish API and /metrics: one comparison, one 401 answer.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

const digestOf = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function tokenMatches(presented: string, expected: string | Buffer): boolean {
  return timingSafeEqual(digestOf(presented), typeof expected === 'string' ? digestOf(expected) : expected);
}

/**
 * Lets a request on only with "Authorization: Bearer <token>"; 401 otherwise. `variable` names the
 * setting the token comes from, so the answer tells the caller which one to use.
 */
export function requireBearerToken(token: string, realm: string, variable: string): RequestHandler {
  // The expected token's digest once, not per request.
  const expected = digestOf(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !tokenMatches(match[1]!.trim(), expected)) {
      res
        .status(401)
        .set({ 'WWW-Authenticate': `Bearer realm="${realm}"`, 'Cache-Control': 'no-store' })
        .json({ error: 'unauthorized', message: `a valid "Authorization: Bearer <${variable}>" header is required` });
      return;
    }
    next();
  };
}
