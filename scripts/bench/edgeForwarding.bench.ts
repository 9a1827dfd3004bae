// What the edge adds on the cache path, on the local Compute host: requests straight to a backend, then
// through the edge as cache hits, misses and passes. Short fixed runs; prints numbers, asserts nothing.
// The numbers describe this machine and the Node host, not Fastly's edge. BENCH_EDGE_WASM=path runs another
// build of the edge (e.g. an older one) for comparison.
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEdgeBuilt } from '../compute-host/edgeBuild.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { benchPushpinProfile } from './benchEnv.ts';

const REQUESTS = 200;
const CONCURRENCY = 8;
const BODY = 'x'.repeat(1024);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function measure(name: string, request: (i: number) => Promise<Response>): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t0 = performance.now();
        const response = await request(i);
        await response.arrayBuffer();
        if (!response.ok) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(22)} ${REQUESTS} requests, ${CONCURRENCY} concurrent: ${(REQUESTS / seconds).toFixed(0)} req/s, ` +
      `p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms, failures ${failures}`,
  );
}

export async function run(): Promise<void> {
  ensureEdgeBuilt();
  const backend = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts({ edge: true }),
    edge: { backends: { origin: backendUrl }, ...(process.env.BENCH_EDGE_WASM ? { wasmPath: process.env.BENCH_EDGE_WASM } : {}) },
    logDir: mkdtempSync(join(tmpdir(), 'bench-edge-')),
    echo: false,
    log: () => {},
  });
  try {
    const edge = stack.urls.edge!;
    await (await fetch(`${edge}/hit`)).arrayBuffer();
    await measure('backend directly', () => fetch(`${backendUrl}/direct`));
    await measure('edge, cache HIT', () => fetch(`${edge}/hit`));
    await measure('edge, cache MISS', (i) => fetch(`${edge}/miss?n=${i}`));
    await measure('edge, PASS (Cookie)', () => fetch(`${edge}/pass`, { headers: { cookie: 'session=1' } }));
  } finally {
    await stack.stop();
    await new Promise((resolve) => backend.close(resolve));
  }
}
