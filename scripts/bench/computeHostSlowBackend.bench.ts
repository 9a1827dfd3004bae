// `npm run bench -- computeHostSlowBackend`: can a slow backend starve the local Compute host? The edge
// (bin/main.wasm) runs with the real Pushpin; its origin backend answers /slow/ after BENCH_SLOW_MS
// (default 5000) and everything else at once. With BENCH_SLOW_IN_FLIGHT (default 50) slow requests
// in flight, it times a Fanout handoff (GET /events/..., until Pushpin's response head) and a
// readthrough-cache HIT, both idle and under that load. Prints numbers, asserts nothing.
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEdgeBuilt } from '../compute-host/edgeBuild.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { benchPushpinProfile } from './benchEnv.ts';

const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 5000);
const IN_FLIGHT = Number(process.env.BENCH_SLOW_IN_FLIGHT ?? 50);

interface Timed {
  status: number;
  ms: number;
  cache?: string;
}

/** Time to the response head (a handoff stays open) or to the end of the body. */
function timedGet(url: string, until: 'head' | 'end'): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      const done = (): void =>
        resolve({ status: response.statusCode ?? 0, ms: performance.now() - started, cache: String(response.headers['x-cache'] ?? '') });
      if (until === 'head') {
        done();
        request.destroy();
        return;
      }
      response.resume();
      response.once('end', done);
      response.once('error', () => resolve({ status: -1, ms: performance.now() - started }));
    });
    request.once('error', () => resolve({ status: -1, ms: performance.now() - started }));
  });
}

const show = (t: Timed): string => `${t.ms.toFixed(1)} ms (status ${t.status}${t.cache ? `, x-cache ${t.cache}` : ''})`;

export async function run(): Promise<void> {
  ensureEdgeBuilt();
  const backend = http.createServer((req, res) => {
    const path = req.url ?? '/';
    req.resume();
    if (path.startsWith('/slow/')) {
      const timer = setTimeout(() => res.writeHead(200, { 'cache-control': 'no-store' }).end('slow\n'), SLOW_MS);
      res.once('close', () => clearTimeout(timer));
    } else if (path.startsWith('/events/')) {
      // What a GRIP origin answers for a stream: Pushpin holds the client and sends this head at once.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'grip-hold': 'stream', 'grip-channel': 'bench' }).end(':held\n\n');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600' }).end('cached\n');
    }
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts({ edge: true }),
    edge: { backends: { origin: backendUrl } },
    logDir: mkdtempSync(join(tmpdir(), 'bench-slow-backend-')),
    echo: false,
    log: () => {},
  });
  const edge = stack.urls.edge!;
  try {
    await timedGet(`${edge}/cached/one`, 'end');
    const idleHit = await timedGet(`${edge}/cached/one`, 'end');
    const idleHandoff = await timedGet(`${edge}/events/idle`, 'head');
    console.log(`backend answers /slow/ after ${SLOW_MS} ms; ${IN_FLIGHT} such requests in flight; edge log ${stack.logFiles.edge}`);
    console.log(`idle:           cache HIT ${show(idleHit)}, Fanout handoff ${show(idleHandoff)}`);
    const slow = Array.from({ length: IN_FLIGHT }, (_, i) => timedGet(`${edge}/slow/${i}`, 'end'));
    // Probes start at fixed times after the load, each on its own (a late one does not wait for an early one).
    const probes = [500, 2000].map(async (at) => {
      await new Promise((r) => setTimeout(r, at));
      const [hit, handoff] = await Promise.all([timedGet(`${edge}/cached/one`, 'end'), timedGet(`${edge}/events/load-${at}`, 'head')]);
      return `load, t=${String(at).padStart(4)} ms: cache HIT ${show(hit)}, Fanout handoff ${show(handoff)}`;
    });
    for (const line of await Promise.all(probes)) console.log(line);
    const results = await Promise.all(slow);
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    console.log(
      `slow requests:  statuses ${[...byStatus].map(([s, n]) => `${s}x${n}`).join(' ')}, ` +
        `first done ${times[0]!.toFixed(0)} ms, last ${times.at(-1)!.toFixed(0)} ms`,
    );
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${stack.pids.edge}/status`, 'utf8'))?.[1];
    if (peak) console.log(`host peak RSS:  ${(Number(peak) / 1024).toFixed(0)} MB (all guest workers)`);
  } finally {
    await stack.stop();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
}
