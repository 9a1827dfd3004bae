// A stand-in in front of Pushpin's publish port that can hold publish requests: it reads each whole,
// and while holding neither answers nor forwards it (the publisher's attempt times out), until the
// test releases them: then each goes to Pushpin, late, as a proxy that took a request and acted on it
// after its publisher had given up would deliver it. Otherwise requests pass straight through.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingPublishProxy {
  url: string;
  /** From now on requests are held, until release(). */
  hold(): void;
  /** How many requests are held now. */
  held(): number;
  /** Stops holding and forwards the held requests to the target, one after the other; resolves with its statuses. */
  release(): Promise<number[]>;
  close(): Promise<void>;
}

interface HeldRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  res: ServerResponse;
}

function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'authorization']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

export async function startHoldingPublishProxy(targetUrl: string): Promise<HoldingPublishProxy> {
  let holding = false;
  const held: HeldRequest[] = [];

  const forward = async (request: Omit<HeldRequest, 'res'>): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${targetUrl}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
    return { status: response.status, text: await response.text() };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: forwardedHeaders(req), body: Buffer.concat(chunks), res };
      if (holding) {
        held.push(request);
        return;
      }
      forward(request).then(
        ({ status, text }) => res.writeHead(status).end(text),
        (error: unknown) => res.writeHead(502).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    hold: () => {
      holding = true;
    },
    held: () => held.length,
    async release() {
      holding = false;
      const statuses: number[] = [];
      for (const request of held.splice(0)) {
        const { status, text } = await forward(request);
        statuses.push(status);
        // The publisher has usually closed this connection already (it timed out).
        if (!request.res.destroyed) request.res.writeHead(status).end(text);
      }
      return statuses;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { res } of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
