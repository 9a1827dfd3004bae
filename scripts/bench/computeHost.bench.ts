// `npm run bench -- computeHost`: what the local Compute host adds per request. The real bin/main.wasm
// on the host, for the three things the edge does: forward to the origin (`/item/N`, not cacheable, so
// the cache MISSes and the backend answers), serve a readthrough-cache HIT (`/cached/one`), and hand a
// realtime request to Fanout (`/events/benchN`, to a stand-in for Pushpin's proxy port that answers at
// once, so only the host's work is timed). Each is compared with calling its target directly: latency
// quantiles one request at a time, the host's CPU per request, then requests per second with several in
// flight. Then the host in always-new-instance mode (COMPUTE_HOST_FRESH_INSTANCES=1) for comparison.
// Prints numbers, asserts nothing. BENCH_CONCURRENCY, BENCH_THROUGHPUT_MS, BENCH_SEQUENTIAL and
// BENCH_HOST_WARMUP (requests before measuring, while V8 compiles the guest's hot code) tune it.
import http from 'node:http';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ensureEdgeBuilt, EDGE_WASM } from '../compute-host/edgeBuild.ts';
import { writeEdgeManifest } from '../compute-host/edgeManifest.ts';
import { startManagedProcess, type ManagedProcess } from '../shared/managedProcess.ts';
import { findFreePort } from '../shared/ports.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { benchInteger, quantile } from './benchEnv.ts';

const SEQUENTIAL = benchInteger('BENCH_SEQUENTIAL', 300, 10, 100_000);
const WARMUP = 40;
/** Requests of every kind before anything is measured: V8 tiers the guest's hot functions up meanwhile. */
const HOST_WARMUP = benchInteger('BENCH_HOST_WARMUP', 1500, 0, 1_000_000);
const CONCURRENCY = benchInteger('BENCH_CONCURRENCY', 16, 1, 1024);
const THROUGHPUT_MS = benchInteger('BENCH_THROUGHPUT_MS', 3000, 200, 600_000);

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function get(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
      })
      .once('error', reject);
  });
}

/** One request; throws unless it is a 200 that passes `check` (so a broken edge cannot look fast). */
async function getChecked(url: string, check: (answer: Answer) => boolean): Promise<void> {
  const answer = await get(url);
  if (answer.status !== 200 || !check(answer)) {
    throw new Error(`${url} answered ${answer.status} (x-cache ${String(answer.headers['x-cache'])}, x-bench-target ${String(answer.headers['x-bench-target'])})`);
  }
}

interface Latencies {
  p50: number;
  p99: number;
  mean: number;
}

async function latencies(url: (i: number) => string, check: (answer: Answer) => boolean): Promise<Latencies> {
  for (let i = 0; i < WARMUP; i++) await getChecked(url(i), check);
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    await getChecked(url(WARMUP + i), check);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

async function throughput(url: (i: number) => string, check: (answer: Answer) => boolean): Promise<number> {
  let done = 0;
  let next = 0;
  const until = performance.now() + THROUGHPUT_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await getChecked(url(next++), check);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;

/** CPU time (user + system) of each thread of a process so far, in ms, from /proc: immune to a busy machine. */
function threadCpuMs(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/**
 * The host's CPU for a stretch of requests, per request: its main thread (HTTP, bodies, cache, handoff)
 * and the rest (guest workers, GC and compiler threads; Node gives them all the same name).
 */
function cpuSplit(pid: number, before: Map<string, number>, requests: number): string {
  let main = 0;
  let other = 0;
  for (const [tid, used] of threadCpuMs(pid)) {
    const delta = used - (before.get(tid) ?? 0);
    if (tid === String(pid)) main += delta;
    else other += delta;
  }
  const per = (n: number): string => (n / requests).toFixed(2);
  return `${per(main + other)} ms (main thread ${per(main)}, guest workers and V8 threads ${per(other)})`;
}

interface Case {
  label: string;
  direct: (i: number) => string;
  viaEdge: (i: number) => string;
  /** What proves the answer came the intended way (a HIT from the cache, the stand-in for a handoff...). */
  check: (answer: Answer) => boolean;
  directCheck: (answer: Answer) => boolean;
}

interface HostUnderTest {
  process: ManagedProcess;
  url: string;
}

async function measure(host: HostUnderTest, c: Case): Promise<void> {
  const direct = await latencies(c.direct, c.directCheck);
  const threadsBefore = threadCpuMs(host.process.pid);
  const viaEdge = await latencies(c.viaEdge, c.check);
  const split = cpuSplit(host.process.pid, threadsBefore, SEQUENTIAL + WARMUP);
  const directRps = await throughput(c.direct, c.directCheck);
  const edgeRps = await throughput(c.viaEdge, c.check);
  console.log(`${c.label}:`);
  console.log(`  direct                 p50 ${ms(direct.p50)}  p99 ${ms(direct.p99)}  mean ${ms(direct.mean)}  ${directRps.toFixed(0)} requests/s`);
  console.log(`  through the edge       p50 ${ms(viaEdge.p50)}  p99 ${ms(viaEdge.p99)}  mean ${ms(viaEdge.mean)}  ${edgeRps.toFixed(0)} requests/s`);
  console.log(`  host overhead          p50 ${ms(viaEdge.p50 - direct.p50)}  p99 ${ms(viaEdge.p99 - direct.p99)}`);
  console.log(`  host CPU per request   ${split}`);
}

export async function run(): Promise<void> {
  ensureEdgeBuilt();
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const cacheable = req.url?.startsWith('/cached/');
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': cacheable ? 'max-age=600' : 'no-store', 'x-bench-target': 'origin' });
      res.end('ok\n');
    });
  });
  // Stands in for Pushpin's proxy port: answers a handoff at once (a real Pushpin would hold it open).
  const pushpin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-bench-target': `pushpin route=${String(req.headers['pushpin-route'])}` });
      res.end('held\n');
    });
  });
  const listen = (server: http.Server): Promise<string> =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const backendUrl = await listen(backend);
  const pushpinUrl = await listen(pushpin);
  const pushpinPort = new URL(pushpinUrl).port;
  const dir = mkdtempSync(join(tmpdir(), 'bench-compute-host-'));
  const manifest = join(dir, 'fastly.toml');
  // The project's manifest (its edge_settings config store included: without it the edge logs a
  // warning on every request), with the origin pointed at the benchmark's backend.
  writeEdgeManifest(join(PROJECT_ROOT, 'fastly.toml'), manifest, { backends: { origin: { url: backendUrl } } });
  const startHost = async (env: Record<string, string>): Promise<HostUnderTest> => {
    const port = await findFreePort();
    const process_ = await startManagedProcess({
      name: 'compute-host',
      command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
      args: ['-C', manifest, '--addr', `127.0.0.1:${port}`, EDGE_WASM, `--local-pushpin-proxy-port=${pushpinPort}`],
      env: { ...process.env, ...env },
      ready: /Listening on http/,
      readyTimeoutMs: 30_000,
      logFile: join(dir, 'host.log'),
    });
    return { process: process_, url: `http://127.0.0.1:${port}` };
  };
  const fromOrigin = (answer: Answer): boolean => answer.headers['x-bench-target'] === 'origin';
  const cases = (edgeUrl: string): Case[] => [
    {
      label: 'forward to the origin (cache MISS, the backend answers)',
      direct: (i) => `${backendUrl}/item/${i}`,
      viaEdge: (i) => `${edgeUrl}/item/${i}`,
      check: (a) => fromOrigin(a) && a.headers['x-cache'] !== 'HIT',
      directCheck: fromOrigin,
    },
    {
      label: 'readthrough-cache HIT',
      direct: () => `${backendUrl}/cached/one`,
      viaEdge: () => `${edgeUrl}/cached/one`,
      check: (a) => a.headers['x-cache'] === 'HIT',
      directCheck: fromOrigin,
    },
    {
      label: 'Fanout handoff (to a stand-in for Pushpin that answers at once)',
      direct: (i) => `${pushpinUrl}/events/bench${i}`,
      viaEdge: (i) => `${edgeUrl}/events/bench${i}`,
      check: (a) => a.headers['x-bench-target'] === 'pushpin route=origin',
      directCheck: (a) => String(a.headers['x-bench-target']).startsWith('pushpin'),
    },
  ];
  /** One-time costs (compiling the guest's hot functions) are not per-request costs: pay them first. */
  const warmUp = async (host: HostUnderTest): Promise<void> => {
    const all = cases(host.url);
    // Fill the cache once so the HIT case only ever hits.
    await get(`${host.url}/cached/one`);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, 8) }, async () => {
        while (next < HOST_WARMUP) {
          const i = next++;
          const c = all[i % all.length]!;
          await getChecked(c.viaEdge(i), c.check);
        }
      }),
    );
  };
  let host = await startHost({});
  try {
    console.log(`backend ${backendUrl}, Pushpin stand-in ${pushpinUrl}, edge ${host.url} (bin/main.wasm); host log ${join(dir, 'host.log')}`);
    console.log(`${HOST_WARMUP} warm-up requests per host; sequential: ${SEQUENTIAL} requests after ${WARMUP} more; throughput: ${CONCURRENCY} in flight for ${THROUGHPUT_MS / 1000} s; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    await warmUp(host);
    for (const c of cases(host.url)) await measure(host, c);
    await host.process.stop();
    host = await startHost({ COMPUTE_HOST_FRESH_INSTANCES: '1' });
    await warmUp(host);
    console.log('always a new WebAssembly.Instance (COMPUTE_HOST_FRESH_INSTANCES=1):');
    await measure(host, cases(host.url)[0]!);
  } finally {
    agent.destroy();
    await host.process.stop();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    await new Promise<void>((resolve) => pushpin.close(() => resolve()));
  }
}
