// The HTTP client of the GRIP publisher: one POST and its answer over node:http(s), with keep-alive
// agents. Measured here against Pushpin's publish port, the global fetch (undici, with an
// AbortSignal.timeout per request) spends 0.9-1.3 ms of CPU on a small publish request; this 0.34-0.53
// ms (most of that is the new TCP connection: Pushpin 1.36 answers every publish with
// `Connection: close`, src/corelib/simplehttpserver.cpp, so no connection is ever reused there). Against
// Fastly's publish API (HTTPS) the keep-alive agent reuses connections, sparing a TLS handshake per
// request. Fails the way the publisher reports: an Error with the socket's `code` (ECONNREFUSED ...),
// or one named TimeoutError when no answer came within `timeoutMs`.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostAnswer {
  status: number;
  statusText: string;
  /** The Retry-After header, when the answer has one. */
  retryAfter: string | null;
  body: string;
}

export type HttpPost = (url: string, request: { headers: Record<string, string>; body: string; timeoutMs: number }) => Promise<PostAnswer>;

export class PostTimeoutError extends Error {
  override name = 'TimeoutError';
}

export function createHttpPost(): HttpPost {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const parsed = new Map<string, URL>();
  return (url, { headers, body, timeoutMs }) => {
    let target = parsed.get(url);
    if (!target) {
      target = new URL(url);
      parsed.set(url, target);
    }
    const secure = target.protocol === 'https:';
    const payload = Buffer.from(body);
    return new Promise<PostAnswer>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(payload.length) },
        agent: secure ? agents.https : agents.http,
      });
      const timer = setTimeout(() => request.destroy(new PostTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        response.on('end', () => {
          clearTimeout(timer);
          const retryAfter = response.headers['retry-after'];
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      request.end(payload);
    });
  };
}

/** The same over a fetch (tests inject one), with an AbortSignal for the timeout. */
export function httpPostVia(fetchImpl: typeof fetch): HttpPost {
  return async (url, { headers, body, timeoutMs }) => {
    let response: Response;
    try {
      response = await fetchImpl(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new PostTimeoutError(`no answer within ${timeoutMs} ms`);
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw code ? Object.assign(new Error((error as Error).message, { cause: error }), { code }) : error;
    }
    return { status: response.status, statusText: response.statusText, retryAfter: response.headers.get('retry-after'), body: await response.text() };
  };
}
