// Stands between the origin and Pushpin's publish port and can drop chosen GRIP items on the way: the
// origin stores the message (it is in the history) while Pushpin never sees it for, say, the
// WebSocket channel. That is what a subscriber sees when Pushpin drops a message it could not deliver
// (a full client buffer) or a session goes silent: the faithful way to make a client miss a message.
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GripItem {
  channel: string;
  id?: string;
  [key: string]: unknown;
}

export interface PublishFilter {
  /** The publish URL to give the origin as GRIP_URL (with `?verify-iss=viceroy`). */
  gripUrl: string;
  /** Items for which this returns true are not forwarded (counted in `dropped`). */
  drop: ((item: GripItem) => boolean) | undefined;
  /** Applied to every item forwarded. */
  rewrite: ((item: GripItem) => GripItem) | undefined;
  readonly dropped: GripItem[];
  stop(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Forwards everything to `target` (Pushpin's publish URL, e.g. http://127.0.0.1:5561). */
export async function startPublishFilter(target: string): Promise<PublishFilter> {
  const filter: PublishFilter = { gripUrl: '', drop: undefined, rewrite: undefined, dropped: [], stop: async () => {} };
  const server = createServer((req, res) => {
    void (async () => {
      let body = await bodyOf(req);
      if (req.method === 'POST' && (filter.drop || filter.rewrite) && req.url?.startsWith('/publish')) {
        const parsed = JSON.parse(body.toString('utf8')) as { items: GripItem[] };
        const keep: GripItem[] = [];
        for (const item of parsed.items) {
          if (filter.drop?.(item)) filter.dropped.push(item);
          else keep.push(filter.rewrite?.(item) ?? item);
        }
        if (keep.length === 0) {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('Published\n');
          return;
        }
        body = Buffer.from(JSON.stringify({ ...parsed, items: keep }));
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers.connection;
      // A connection of its own each time: Pushpin closes every publish connection after its answer.
      const forward = request(`${target}${req.url ?? '/'}`, { method: req.method, headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', (error) => res.writeHead(502).end(String(error)));
      forward.end(body);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  filter.gripUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?verify-iss=viceroy`;
  filter.stop = () => new Promise((resolve) => server.close(() => resolve()));
  return filter;
}
