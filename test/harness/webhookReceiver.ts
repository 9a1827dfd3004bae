// A webhook receiver for end-to-end tests: records every request (headers and raw body) and answers
// as the test says: 204, an error status, or not at all until released.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArrivals, type Arrivals } from './arrivals.ts';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type WebhookAnswer = number | 'hold';

export interface WebhookReceiver {
  url: string;
  received: Arrivals<ReceivedWebhook>;
  /** How the next requests are answered, in turn; then 204. */
  answers: WebhookAnswer[];
  /** Answers every request held so far (204). */
  release(): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received = createArrivals<ReceivedWebhook>('webhook requests');
  const held: ServerResponse[] = [];
  const answers: WebhookAnswer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = answers.shift() ?? 204;
      if (answer === 'hold') held.push(res);
      else res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/presence`,
    received,
    answers,
    release: () => {
      for (const res of held.splice(0)) res.writeHead(204).end();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
