// The local Compute host under a slow backend: requests that wait on it must not starve Fanout
// handoffs and cache hits (real edge, real Pushpin), one backend cannot take every worker, and the
// queue for a worker is bounded and timed (a clear 503, never an endless wait).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildGuest, startGuestHost, type GuestHost } from '../fixtures/guestHost.ts';
import { rawGet } from '../fixtures/rawHttp.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

/** A backend that holds every /slow/ request until the test releases them (later ones then pass); the rest answers at once. */
async function startHeldBackend(): Promise<{ url: string; held: () => number; release(): void; stop(): Promise<void> }> {
  const held = new Set<ServerResponse>();
  let released = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = req.url ?? '/';
    if ((path.startsWith('/slow/') || path.startsWith('/held')) && released) {
      res.writeHead(200, { 'cache-control': 'no-store' }).end('released');
    } else if (path.startsWith('/slow/') || path.startsWith('/held')) {
      held.add(res);
      res.once('close', () => held.delete(res));
    } else if (path.startsWith('/events/')) {
      // A GRIP stream hold, as the origin answers: Pushpin keeps the client and sends this at once.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'grip-hold': 'stream', 'grip-channel': 'load' }).end(':held\n\n');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600' }).end(`cached ${path}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const release = (): void => {
    released = true;
    for (const res of held) res.writeHead(200, { 'cache-control': 'no-store' }).end('released');
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held.size,
    release,
    stop: async () => {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the edge with 40 requests waiting on a slow backend', () => {
  let backend: Awaited<ReturnType<typeof startHeldBackend>>;
  let stack: TestStack;
  beforeAll(async () => {
    backend = await startHeldBackend();
    stack = await startTestStack({ edge: true, backends: { origin: backend.url } });
  });
  afterAll(async () => {
    await backend?.stop();
    await stack?.stop();
  });

  it('still hands off to Fanout and answers cache hits while they wait', { timeout: 120_000 }, async () => {
    const edge = stack.urls.edge!;
    expect((await rawGet(`${edge}/cached/page`)).status).toBe(200);
    let slowDone = 0;
    const slow = Array.from({ length: 40 }, (_, i) =>
      rawGet(`${edge}/slow/${i}`, {}, 60_000).then(
        (r) => {
          slowDone++;
          return r;
        },
        (error: Error) => ({ status: -1, body: error.message }),
      ),
    );
    await until(() => backend.held() >= 10, 'the slow requests to reach the backend');
    const handoff = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ get }) => {
        const request = get(`${edge}/events/load`, { agent: false }, (response) => {
          resolve(response.statusCode ?? 0);
          request.destroy();
        });
        request.once('error', reject);
        request.setTimeout(20_000, () => reject(new Error('no handoff answer within 20 s')));
      }, reject);
    });
    expect(handoff).toBe(200);
    const hit = await rawGet(`${edge}/cached/page`);
    expect(hit.headerBytes('x-cache')?.toString()).toBe('HIT');
    // Both were served while every slow request was still waiting on the backend.
    expect(slowDone).toBe(0);
    await until(() => backend.held() === 40, "all 40 slow requests to reach the backend", 50_000);
    backend.release();
    const results = await Promise.all(slow);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  });
});

describe('a host with few workers', () => {
  let wasm: string;
  let backend: Awaited<ReturnType<typeof startHeldBackend>>;
  beforeAll(async () => {
    wasm = await buildGuest('faultGuest.js');
  }, 60_000);
  beforeEach(async () => {
    backend = await startHeldBackend();
  });
  afterEach(async () => {
    await backend.stop();
  });

  it('keeps workers that a slow backend cannot take: its excess requests fail fast, others are served', async () => {
    const host: GuestHost = await startGuestHost({
      wasm,
      backends: { slow: backend.url },
      env: { COMPUTE_HOST_WORKERS: '4', COMPUTE_HOST_MAX_WORKERS: '4' },
    });
    try {
      const slow = Array.from({ length: 8 }, (_, i) =>
        rawGet(`${host.url}/fetch?backend=slow&path=/slow/${i}`, {}, 60_000).catch((error: Error) => ({ status: -1, body: error.message })),
      );
      await until(() => backend.held() >= 2, 'slow requests to reach the backend');
      // Over the backend's share of the workers, sends fail at once with a clear send error.
      const quick = await rawGet(`${host.url}/header`);
      expect(quick.status).toBe(200);
      backend.release();
      const results = await Promise.all(slow);
      const refused = results.filter((r) => r.status === 502);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.body).toMatch(/Connection limit reached/);
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
      await host.waitForOutput(/backend "slow" already has \d+ requests in flight/);
    } finally {
      await host.stop();
    }
  });

  it('answers 503 when the queue is full and when a request waited too long for a worker', async () => {
    const host: GuestHost = await startGuestHost({
      wasm,
      backends: { slow: backend.url },
      env: { COMPUTE_HOST_WORKERS: '1', COMPUTE_HOST_MAX_WORKERS: '1', COMPUTE_HOST_QUEUE_LIMIT: '1', COMPUTE_HOST_QUEUE_TIMEOUT_MS: '1500' },
    });
    try {
      const holding = rawGet(`${host.url}/fetch?backend=slow&path=/held`, {}, 60_000).catch((error: Error) => ({ status: -1, body: error.message }));
      await until(() => backend.held() === 1, 'the held request to reach the backend');
      const queued = rawGet(`${host.url}/header`).catch((error: Error) => ({ status: -1, body: error.message }));
      await new Promise((r) => setTimeout(r, 300));
      const overflow = await rawGet(`${host.url}/header`);
      expect(overflow.status).toBe(503);
      expect(overflow.body).toMatch(/queue .*full .*COMPUTE_HOST_QUEUE_LIMIT/);
      const timedOut = await queued;
      expect(timedOut.status).toBe(503);
      expect(timedOut.body).toMatch(/waited 1\.5 s for a free guest worker .*COMPUTE_HOST_QUEUE_TIMEOUT_MS/);
      backend.release();
      expect((await holding).status).toBe(200);
      // The host serves normally again.
      expect((await rawGet(`${host.url}/header`)).status).toBe(200);
    } finally {
      await host.stop();
    }
  });
});
