// The bearer-token guard shared by the publish API and /metrics: one comparison, one 401 answer.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendJson } from './jsonAnswer.ts';

const digestOf = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function tokenMatches(presented: string, expected: string | Buffer): boolean {
  return timingSafeEqual(digestOf(presented), typeof expected === 'string' ? digestOf(expected) : expected);
}

export interface BearerTokenGuard {
  /** Whether the request carries "Authorization: Bearer <token>". */
  accepts(req: IncomingMessage): boolean;
  /** The 401, naming the setting the token comes from so the caller knows which one to use. */
  refuse(res: ServerResponse): void;
}

export function bearerTokenGuard(token: string, realm: string, variable: string): BearerTokenGuard {
  // The expected token's digest once, not per request.
  const expected = digestOf(token);
  const refusal = { error: 'unauthorized', message: `a valid "Authorization: Bearer <${variable}>" header is required` };
  return {
    accepts(req) {
      const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      return match !== null && tokenMatches(match[1]!.trim(), expected);
    },
    refuse(res) {
      sendJson(res, 401, refusal, { 'WWW-Authenticate': `Bearer realm="${realm}"` });
    },
  };
}

/** The guard as Express middleware: lets a request on only with the token; 401 otherwise. */
export function requireBearerToken(token: string, realm: string, variable: string): RequestHandler {
  return requireGuard(bearerTokenGuard(token, realm, variable));
}

/** A guard already made (one also used off Express) as Express middleware. */
export function requireGuard(guard: BearerTokenGuard): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!guard.accepts(req)) return guard.refuse(res);
    next();
  };
}
