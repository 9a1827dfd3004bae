// A stand-in for the Fastly publish API on loopback: records every request exactly as received and
// answers from a script of statuses (then 200), so tests can check the CLI's request and each error
// path without a Fastly account.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInReply {
  status: number;
  body?: string;
  /** Never answer (for timeouts). */
  hang?: boolean;
  /** Answer only once this resolves (a slow proxy, released by the test). */
  after?: Promise<unknown>;
}

export interface FastlyApiStandIn {
  url: string;
  requests: RecordedRequest[];
  /** Replies for the next requests, in order; after them every request gets 200. */
  script(replies: StandInReply[]): void;
  close(): Promise<void>;
}

export async function startFastlyApiStandIn(): Promise<FastlyApiStandIn> {
  const requests: RecordedRequest[] = [];
  let replies: StandInReply[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const reply = replies.shift() ?? { status: 200, body: 'Published\n' };
      if (reply.hang) return;
      void Promise.resolve(reply.after).then(() => {
        res.writeHead(reply.status, { 'Content-Type': 'text/plain' });
        res.end(reply.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (next) => {
      replies = [...next];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
