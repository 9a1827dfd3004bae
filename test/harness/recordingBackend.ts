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
 * Answers WebSocket-over-HTTP (what Pushpin sends for a client WebSocket) as an echo server: accepts
 * OPEN, echoes TEXT, acknowledges CLOSE. Enough to prove a WebSocket reached this backend through the proxy.
 */
function answerWebSocketEvents(body: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const [type, hexLength] = body.subarray(offset, lineEnd).toString('latin1').split(' ');
    offset = lineEnd + 2;
    let content = '';
    if (hexLength !== undefined) {
      const length = parseInt(hexLength, 16);
      content = body.subarray(offset, offset + length).toString('utf8');
      offset += length + 2;
    }
    const frame = (name: string): string => `${name} ${Buffer.byteLength(content).toString(16)}\r\n${content}\r\n`;
    if (type === 'OPEN') out += 'OPEN\r\n';
    else if (type === 'TEXT') out += frame('TEXT');
    else if (type === 'CLOSE') out += frame('CLOSE');
  }
  return out;
}

/**
 * Every request gets 200 and a body naming the request and its sequence number; responses are
 * cacheable (`public, max-age=60`) except below `/private/` (`no-store`). WebSocket-over-HTTP requests
 * (`Content-Type: application/websocket-events`) get an echo session.
 */
export async function startRecordingBackend(): Promise<RecordingBackend> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: raw.toString('utf8') };
      requests.push(recorded);
      if (req.headers['content-type'] === 'application/websocket-events') {
        res.writeHead(200, { 'content-type': 'application/websocket-events' });
        res.end(answerWebSocketEvents(raw));
        return;
      }
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
