// `npm run bench -- computeHost`: what the local Compute host adds per request. The same small
// backend is called directly and through the edge (bin/main.wasm on the host, forwarding with
// fetch(req, {backend})), in one run: latency quantiles one request at a time, then requests per
// second with several in flight. Also a readthrough-cache hit, and the host in always-new-instance
// mode (COMPUTE_HOST_FRESH_INSTANCES=1) for comparison. Prints numbers, asserts nothing.
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ensureEdgeBuilt, EDGE_WASM } from '../compute-host/edgeBuild.ts';
import { startManagedProcess } from '../stack/managedProcess.ts';
import { findFreePort } from '../stack/ports.ts';
import { PROJECT_ROOT } from '../stack/projectRoot.ts';

const SEQUENTIAL = 300;
const WARMUP = 40;
const CONCURRENCY = 16;
const THROUGHPUT_MS = 3000;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      })
      .once('error', reject);
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function latencies(url: (i: number) => string): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < WARMUP; i++) await get(url(i));
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    const status = await get(url(i));
    if (status !== 200) throw new Error(`${url(i)} answered ${status}`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

async function throughput(url: (i: number) => string): Promise<number> {
  let done = 0;
  let next = 0;
  const until = performance.now() + THROUGHPUT_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await get(url(next++));
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;

/** CPU time (user + system, all threads) a process used so far, from /proc: immune to a busy machine. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

export async function run(): Promise<void> {
  ensureEdgeBuilt();
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const cacheable = req.url?.startsWith('/cached/');
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': cacheable ? 'max-age=600' : 'no-store' });
      res.end('ok\n');
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-compute-host-'));
  const manifest = join(dir, 'fastly.toml');
  writeFileSync(manifest, `[local_server.backends.origin]\nurl = "${backendUrl}"\n`);
  const startHost = async (env: Record<string, string>) => {
    const port = await findFreePort();
    const process_ = await startManagedProcess({
      name: 'compute-host',
      command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
      args: ['-C', manifest, '--addr', `127.0.0.1:${port}`, EDGE_WASM],
      env: { ...process.env, ...env },
      ready: /Listening on http/,
      readyTimeoutMs: 30_000,
      logFile: join(dir, 'host.log'),
    });
    return { process: process_, url: `http://127.0.0.1:${port}` };
  };
  let host = await startHost({});
  const edgeUrl = host.url;
  try {
    console.log(`backend ${backendUrl}, edge ${edgeUrl} (bin/main.wasm, a pristine instance per request); host log ${join(dir, 'host.log')}`);
    const direct = await latencies((i) => `${backendUrl}/item/${i}`);
    const cpuBefore = cpuMs(host.process.pid);
    const viaEdge = await latencies((i) => `${edgeUrl}/item/${i}`);
    const cpuPerRequest = (cpuMs(host.process.pid) - cpuBefore) / (SEQUENTIAL + WARMUP);
    const cacheHit = await latencies(() => `${edgeUrl}/cached/one`);
    console.log(`sequential (${SEQUENTIAL} requests, after ${WARMUP} warm-up):`);
    console.log(`  direct to backend      p50 ${ms(direct.p50)}  p99 ${ms(direct.p99)}  mean ${ms(direct.mean)}`);
    console.log(`  through the edge       p50 ${ms(viaEdge.p50)}  p99 ${ms(viaEdge.p99)}  mean ${ms(viaEdge.mean)}`);
    console.log(`  edge, cache hit        p50 ${ms(cacheHit.p50)}  p99 ${ms(cacheHit.p99)}  mean ${ms(cacheHit.mean)}`);
    console.log(`  host overhead          p50 ${ms(viaEdge.p50 - direct.p50)}  p99 ${ms(viaEdge.p99 - direct.p99)}`);
    console.log(`  host CPU per request   ${ms(cpuPerRequest)} (all threads: instance reset, guest, I/O)`);
    const directRps = await throughput((i) => `${backendUrl}/item/${i}`);
    const edgeRps = await throughput((i) => `${edgeUrl}/item/${i}`);
    console.log(`throughput (${CONCURRENCY} in flight, ${THROUGHPUT_MS / 1000} s each):`);
    console.log(`  direct to backend      ${directRps.toFixed(0)} requests/s`);
    console.log(`  through the edge       ${edgeRps.toFixed(0)} requests/s`);
    await host.process.stop();
    host = await startHost({ COMPUTE_HOST_FRESH_INSTANCES: '1' });
    const freshCpuBefore = cpuMs(host.process.pid);
    const fresh = await latencies((i) => `${host.url}/item/${i}`);
    const freshCpu = (cpuMs(host.process.pid) - freshCpuBefore) / (SEQUENTIAL + WARMUP);
    const freshRps = await throughput((i) => `${host.url}/item/${i}`);
    console.log('always a new WebAssembly.Instance (COMPUTE_HOST_FRESH_INSTANCES=1):');
    console.log(`  through the edge       p50 ${ms(fresh.p50)}  p99 ${ms(fresh.p99)}  overhead p50 ${ms(fresh.p50 - direct.p50)}`);
    console.log(`  host CPU per request   ${ms(freshCpu)}; ${freshRps.toFixed(0)} requests/s with ${CONCURRENCY} in flight`);
  } finally {
    agent.destroy();
    await host.process.stop();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
}
