// A plain HTTP backend for end-to-end tests that records every request it receives (method, path and
// headers), so a test can assert what reached the origin side: how many times (cache hits never
// arrive) and with which headers (forged proxy headers must not arrive).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingBackend {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests whose path (without the query) equals `path`. */
  requestsTo(path: string): RecordedRequest[];
  stop(): Promise<void>;
}

/** Cacheable by any shared cache for a minute: the edge must still not cache what it should pass. */
export const RECORDING_BACKEND_CACHE_CONTROL = 'public, max-age=60';

function reply(res: ServerResponse, status: number, body: string, cacheControl: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': cacheControl, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Every request gets 200 and a body naming the request and its sequence number; responses are
 * cacheable (`public, max-age=60`) except below `/private/` (`no-store`).
 */
export async function startRecordingBackend(): Promise<RecordingBackend> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const cacheControl = recorded.path.startsWith('/private/') ? 'no-store' : RECORDING_BACKEND_CACHE_CONTROL;
      reply(res, 200, `${recorded.method} ${recorded.path} #${requests.length}`, cacheControl);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path.split('?')[0] === path),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
