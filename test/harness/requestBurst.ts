// A burst of new requests through Pushpin's proxy to a backend that holds each one, so the whole burst
// is in progress at once: what made Pushpin 1.36 with the package's zurl limits answer `502 Error while
// proxying to origin.` (ZURL_LIMITS, scripts/pushpin/zurlLibdir.ts). Used by pushpinBurst.e2e (our
// generated config; fastlyServeBurst.e2e checks that the CLI's zurl gets the same limits). Each request is
// answered 12 s after it arrived, so the answers come spread out as the requests did: answering the
// whole burst at once when its last request arrived was tried, and got a 502 or more from Pushpin in
// 2 of 5 runs under load.
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Above what the package's zurl limits let through (2000 + 1000 + the proxy's 100). */
export const BURST = 3500;
/** The burst arrives in small steps (new connections of a crowd, not one instant: see sendBurst). */
const STEP = 10;
const STEP_MS = 20;
/** Longer than the burst takes to arrive, so every request of it is in progress at once. */
export const HOLD_MS = 12_000;
/** Answered at once, for a readiness probe through the proxy. */
export const READY_PATH = '/ready';

export interface HoldingBackend {
  url: URL;
  /** Requests held so far (the readiness path not counted). */
  held(): number;
  close(): Promise<void>;
}

export async function startHoldingBackend(holdMs = HOLD_MS): Promise<HoldingBackend> {
  let held = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === READY_PATH) {
      res.writeHead(204).end();
      return;
    }
    held++;
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), holdMs);
  });
  server.maxConnections = BURST * 2;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    held: () => held,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** HTTP status, or -1 for a timeout and -2 for another connection error. */
function get(url: string, route: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { 'pushpin-route': route } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(90_000, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(-1 * (error.message === 'timeout' ? 1 : 2)));
    req.end();
  });
}

/**
 * BURST requests through the proxy on `route`, one connection each, STEP at a time; resolves with
 * status -> count once all are answered. Thousands in the same instant would overrun the 1.36 proxy's
 * own queue to zurl (100 messages, compiled in; 502 too): that is not what this measures.
 */
export async function sendBurst(proxyUrl: string, route: string): Promise<Record<number, number>> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const pending: Array<Promise<number>> = [];
  for (let i = 0; i < BURST; i++) {
    pending.push(get(`${proxyUrl}/burst/${i}`, route, agent));
    if (i % STEP === STEP - 1) await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  }
  const statuses = await Promise.all(pending);
  agent.destroy();
  const byStatus: Record<number, number> = {};
  for (const status of statuses) byStatus[status] = (byStatus[status] ?? 0) + 1;
  return byStatus;
}
