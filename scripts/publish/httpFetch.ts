// A small fetch for publish requests over node:http(s) with keep-alive. The global fetch (undici)
// spends about 2 ms of CPU on a 50 KB string body, and a WHATWG Response around the answer most of
// another; node:http needs about 0.3 ms. On a busy machine that CPU is what limits bulk publishing. It
// covers what the publisher uses (method, string headers and body, an abort signal; ok, status,
// statusText, headers, text(), arrayBuffer(), json() of the answer) and fails the way fetch does:
// TypeError('fetch failed') with the socket error as its cause, or the signal's reason on timeout.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The parts of a Response the publisher reads, without the cost of a WHATWG body stream. */
function answerOf(response: IncomingMessage, body: Buffer): Response {
  const status = response.statusCode ?? 0;
  let headers: Headers | undefined;
  const answer = {
    ok: status >= 200 && status < 300,
    status,
    statusText: response.statusMessage ?? '',
    get headers(): Headers {
      headers ??= new Headers(
        Object.entries(response.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])),
      );
      return headers;
    },
    text: async () => body.toString('utf8'),
    json: async () => JSON.parse(body.toString('utf8')) as unknown,
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength),
  };
  return answer as unknown as Response;
}

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
          resolve(answerOf(response, Buffer.concat(chunks)));
        });
      });
      request.end(body);
    });
  };
  return httpFetch as typeof fetch;
}
