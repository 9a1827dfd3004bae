// A small fetch for publish requests over node:http(s) with keep-alive. The global fetch (undici)
// spends about 2 ms of CPU on a 50 KB string body, more than framing the 50 messages in it; on a busy
// machine that CPU is what limits bulk publishing. It covers what the publisher uses (method, string
// headers and body, an abort signal) and fails the way fetch does: TypeError('fetch failed') with the
// socket error as its cause, or the signal's reason on timeout.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export function createHttpFetch(): typeof fetch {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const httpFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const body = typeof init.body === 'string' ? Buffer.from(init.body) : undefined;
    if (init.body != null && body === undefined) throw new TypeError('httpFetch sends string bodies only');
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (body) headers['Content-Length'] = String(body.length);
    const signal = init.signal ?? undefined;
    const secure = url.protocol === 'https:';
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers,
        agent: secure ? agents.https : agents.http,
      });
      const onAbort = (): void => {
        request.destroy();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new TypeError('fetch failed', { cause: error }));
      });
      request.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
        response.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const status = response.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          // Response refuses a body for 204/304.
          const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(payload, { status, statusText: response.statusMessage ?? '', headers: responseHeaders }));
        });
      });
      request.end(body);
    });
  };
  return httpFetch as typeof fetch;
}
