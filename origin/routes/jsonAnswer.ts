// JSON answers written on Node's own response object, for the publish API's path that bypasses
// Express (routes/publishRoutes.ts), and the one description of a request that failed, shared with
// Express's error handler so both paths answer a bad body alike.
import type { ServerResponse } from 'node:http';

/** Writes `body` as the whole answer, never cached (Express's `res.json` without its ETag hash). */
export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) })
    .end(text);
}

export interface FailedRequestAnswer {
  status: number;
  body: { error: 'bad_request' | 'internal'; message: string };
}

/**
 * The answer to a request whose handling threw: a client error keeps its 4xx status (body-parser's
 * errors carry one: a body that is not JSON, too large, in a charset or encoding it cannot read);
 * anything else is a 500 that says nothing about the cause (the log has it).
 */
export function describeFailedRequest(error: unknown): FailedRequestAnswer {
  const e = error as { status?: unknown; type?: unknown; message?: unknown } | null | undefined;
  const status = typeof e?.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
  const message =
    e?.type === 'entity.parse.failed'
      ? 'the body is not valid JSON'
      : e?.type === 'entity.too.large'
        ? 'the body is too large'
        : status >= 500
          ? 'internal error'
          : String(e?.message ?? 'bad request');
  return { status, body: { error: status >= 500 ? 'internal' : 'bad_request', message } };
}
