// A tiny GRIP origin for tests of publishing: it holds SSE streams on `sse:<c>`, NDJSON streams on
// `stream:<c>`, long-polls on `poll:<c>` and subscribes WebSocket-over-HTTP sessions to `ws:<c>`, the
// GRIP channels the origin's transports use, so a publisher's items can be checked on every transport
// through a real Pushpin. Unlike the origin its holds carry no prev-id (no history to sequence against),
// so Pushpin delivers every item. It trusts every request (no Grip-Sig check): for tests only.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ManifestBackend } from '../../scripts/shared/fastlyManifest.ts';

export interface GripTestOrigin {
  url: string;
  /** A fastly.toml-style backend for Pushpin's routes. */
  backend(name: string): ManifestBackend;
  /** Requests answered so far, as "METHOD /path". */
  answered: string[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One WebSocket-over-HTTP TEXT event. */
function textEvent(content: string): string {
  return `TEXT ${Buffer.byteLength(content).toString(16)}\r\n${content}\r\n`;
}

export async function startGripTestOrigin(): Promise<GripTestOrigin> {
  const answered: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://origin');
      const [, kind, channel] = url.pathname.split('/');
      const body = await readBody(req);
      if (req.method === 'GET' && kind === 'events' && channel) {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream',
          'Grip-Hold': 'stream',
          'Grip-Channel': `sse:${channel}`,
        });
        res.end();
      } else if (req.method === 'GET' && kind === 'stream' && channel) {
        res.writeHead(200, {
          'Content-Type': 'application/x-ndjson',
          'Grip-Hold': 'stream',
          'Grip-Channel': `stream:${channel}`,
        });
        res.end();
      } else if (req.method === 'GET' && kind === 'poll' && channel) {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Grip-Hold': 'response',
          'Grip-Channel': `poll:${channel}`,
          'Grip-Timeout': '30',
        });
        res.end('{"messages":[]}\n');
      } else if (req.method === 'POST' && kind === 'ws' && channel) {
        const events = body.toString('utf8');
        const headers = { 'Content-Type': 'application/websocket-events', 'Sec-WebSocket-Extensions': 'grip' };
        if (events.startsWith('OPEN')) {
          res.writeHead(200, headers);
          res.end(`OPEN\r\n${textEvent(`c:${JSON.stringify({ type: 'subscribe', channel: `ws:${channel}` })}`)}`);
        } else if (events.startsWith('CLOSE')) {
          res.writeHead(200, headers);
          res.end('CLOSE\r\n');
        } else {
          res.writeHead(200, headers);
          res.end();
        }
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      answered.push(`${req.method} ${url.pathname}`);
    })().catch((error: unknown) => {
      res.destroy(error as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    answered,
    backend: (name) => ({ name, url: new URL(url), overrideHost: `127.0.0.1:${port}` }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
