// A stand-in between the proxy and the origin that can deliver answers late: it passes each request
// on to the origin at once, and for the paths it was told to hold, keeps the origin's whole answer
// until a given time before passing it back. The origin acts when it answers (a stream hold's expiry
// is scheduled then), the proxy only when the answer arrives: a test can put any gap between the two,
// as a busy proxy or a slow network would.
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LateAnswerProxy {
  url: string;
  /** The origin's base URL; requests that come before it is set are answered 503. */
  target: string | undefined;
  /** From now on the answers to requests whose path starts with `pathPrefix` are passed back at `releaseAt` (ms since the epoch), not before. */
  holdAnswers(pathPrefix: string, releaseAt: number): void;
  /** When the origin answered each held request (ms since the epoch). */
  answeredAt(pathPrefix: string): number[];
  close(): Promise<void>;
}

/** Hop-by-hop headers: the answer goes back whole, with its own length. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startLateAnswerProxy(): Promise<LateAnswerProxy> {
  const holds: Array<{ pathPrefix: string; releaseAt: number; answeredAt: number[] }> = [];
  const timers = new Set<NodeJS.Timeout>();
  const proxy: LateAnswerProxy = {
    url: '',
    target: undefined,
    holdAnswers: (pathPrefix, releaseAt) => void holds.push({ pathPrefix, releaseAt, answeredAt: [] }),
    answeredAt: (pathPrefix) => holds.filter((h) => h.pathPrefix === pathPrefix).flatMap((h) => h.answeredAt),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    if (!proxy.target) {
      res.writeHead(503).end('no target yet');
      return;
    }
    const target = new URL(req.url ?? '/', proxy.target);
    const hold = holds.findLast((h) => req.url?.startsWith(h.pathPrefix));
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers: IncomingHttpHeaders = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
        const pass = () => res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': body.length }).end(body);
        if (!hold) return pass();
        hold.answeredAt.push(Date.now());
        const timer = setTimeout(() => {
          timers.delete(timer);
          pass();
        }, Math.max(0, hold.releaseAt - Date.now()));
        timers.add(timer);
      });
    });
    upstream.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
