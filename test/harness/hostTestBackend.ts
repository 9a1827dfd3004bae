// A small HTTP backend for the Compute host's end-to-end tests: counts requests per path (a cache hit
// never arrives), echoes bodies, proves streaming in both directions with gates a test opens, and
// answers WebSocket-over-HTTP (what Pushpin sends for a client WebSocket) as an echo session that
// also subscribes the connection to a GRIP channel.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostTestBackend {
  url: string;
  hits(path: string): number;
  /** Resolves when the first chunk of an upload to /upload arrived (while the client still sends). */
  uploadStarted: Promise<void>;
  /** Lets /stream send its second part (the test first sees the first part arrive). */
  releaseStream(): void;
  stop(): Promise<void>;
}

function wsEvents(body: Buffer): Array<{ type: string; content: Buffer }> {
  const events: Array<{ type: string; content: Buffer }> = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const [type = '', hexLength] = body.subarray(offset, lineEnd).toString().split(' ');
    offset = lineEnd + 2;
    let content: Buffer = Buffer.alloc(0);
    if (hexLength !== undefined) {
      const length = parseInt(hexLength, 16);
      content = body.subarray(offset, offset + length);
      offset += length + 2;
    }
    events.push({ type, content });
  }
  return events;
}

function wsEvent(type: string, content?: string | Buffer): string {
  if (content === undefined) return `${type}\r\n`;
  const bytes = Buffer.from(content);
  return `${type} ${bytes.length.toString(16)}\r\n${bytes.toString('binary')}\r\n`;
}

export async function startHostTestBackend(): Promise<HostTestBackend> {
  const counts = new Map<string, number>();
  let markUploadStarted!: () => void;
  const uploadStarted = new Promise<void>((resolve) => (markUploadStarted = resolve));
  let releaseStream!: () => void;
  const streamGate = new Promise<void>((resolve) => (releaseStream = resolve));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://backend').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const count = counts.get(path)!;
    if (path === '/upload') {
      let received = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (received === 0) markUploadStarted();
        received += chunk.length;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ received }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    switch (path) {
      case '/ws': {
        // WebSocket-over-HTTP: accept, join channel "ws-test", echo TEXT frames, acknowledge CLOSE.
        let out = '';
        for (const event of wsEvents(body)) {
          if (event.type === 'OPEN') out += wsEvent('OPEN') + wsEvent('TEXT', 'c:{"type":"subscribe","channel":"ws-test"}');
          // With the grip extension, plain messages carry the "m:" prefix ("c:" is control).
          else if (event.type === 'TEXT') out += wsEvent('TEXT', `m:echo:${event.content.toString()}`);
          else if (event.type === 'CLOSE') out += wsEvent('CLOSE', event.content);
        }
        res.writeHead(200, { 'content-type': 'application/websocket-events', 'sec-websocket-extensions': 'grip' }).end(out, 'binary');
        return;
      }
      case '/stream':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write('data: first\n\n');
        await streamGate;
        res.end('data: second\n\n');
        return;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' });
        res.end(JSON.stringify({ method: req.method, length: body.length, body: body.toString(), count }));
        return;
      case '/private':
        res.writeHead(200, { 'cache-control': 'private, max-age=60' }).end(`private ${count}`);
        return;
      case '/swr':
        res.writeHead(200, { 'cache-control': 'max-age=1, stale-while-revalidate=60' }).end(`swr ${count}`);
        return;
      case '/shared':
        // s-maxage wins over max-age=0 for a shared cache.
        res.writeHead(200, { 'cache-control': 'max-age=0, s-maxage=60' }).end(`shared ${count}`);
        return;
      default:
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' }).end(`${path} ${count}`);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => res.destroy(error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: (path) => counts.get(path) ?? 0,
    uploadStarted,
    releaseStream,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
