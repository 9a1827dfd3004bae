// A `fetch` for fanout-forward/client over node:http, for harnesses that run thousands of clients in
// one process (soak, benchmarks, fault suite): Node's own fetch (undici, web streams) costs about twice
// the CPU per streamed message (measured by `npm run bench -- clientLoad`). Only what the client uses:
// GET with headers and an abort signal, PUT/DELETE with a text body (presence leases); the body read chunk by chunk (not reading holds the socket
// back, which the stall testing hook relies on), as JSON or text.
import { request, type Agent, type IncomingMessage } from 'node:http';
import type { FetchLike, ResponseLike } from '../../client/index.ts';

function textOf(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.once('end', () => resolve(text));
    response.once('error', reject);
  });
}

function responseOf(response: IncomingMessage): ResponseLike {
  const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return {
    status: response.statusCode ?? 0,
    headers: {
      get(name) {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: {
      getReader: () => ({
        read: async () => {
          const next = await chunks.next();
          return next.done ? { done: true } : { done: false, value: next.value };
        },
        cancel: async () => void response.destroy(),
      }),
    },
    json: async () => JSON.parse(await textOf(response)) as unknown,
    text: () => textOf(response),
  };
}

/** `agent`: e.g. a keep-alive Agent for long-polls; by default a connection per request. */
export function nodeHttpFetch(agent: Agent | false = false): FetchLike {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : Buffer.from(init.body);
      const headers = body === undefined ? init.headers : { ...init.headers, 'Content-Length': String(body.length) };
      const req = request(url, { method: init.method ?? 'GET', headers, agent, ...(init.signal ? { signal: init.signal } : {}) }, (response) => resolve(responseOf(response)));
      req.once('error', reject);
      req.end(body);
    });
}
