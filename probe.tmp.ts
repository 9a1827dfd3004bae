import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
// throwaway: compute host CPU per request with node flags
import http from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
const flags = (process.argv[2] ?? '').split(' ').filter(Boolean);
const path = process.argv[3] ?? 'item';
const env = { ...process.env, ...(process.argv[4] ? Object.fromEntries(process.argv[4].split(',').map((kv) => kv.split('='))) : {}) };
const backend = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': req.url?.startsWith('/cached/') ? 'max-age=600' : 'no-store' }); res.end('ok\n'); }); });
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
const bport = (backend.address() as { port: number }).port;
const { writeEdgeManifest } = await import('./scripts/compute-host/edgeManifest.ts');
writeEdgeManifest('fastly.toml', '/tmp/ch-manifest.toml', { backends: { origin: { url: `http://127.0.0.1:${bport}` } } });
const port = 43000 + Math.floor(Math.random() * 1000);
const host = spawn(process.execPath, [...flags, '--import', './node_modules/tsx/dist/loader.mjs', 'scripts/compute-host/cli.ts', '-C', '/tmp/ch-manifest.toml', '--addr', `127.0.0.1:${port}`, process.env.WASM ?? 'bin/main.wasm', `--local-pushpin-proxy-port=${bport}`], { env, stdio: ['ignore', 'pipe', process.env.SHOW_STDERR ? 'inherit' : 'ignore'] });
let hostOut = ''; await new Promise<void>((r) => host.stdout!.on('data', (d: Buffer) => { hostOut += String(d); if (process.env.HOST_OUT_FILE) require('node:fs').appendFileSync(process.env.HOST_OUT_FILE, d); if (String(d).includes('Listening')) r(); }));
const url = (i: number) => path === 'hit' ? `http://127.0.0.1:${port}/cached/one` : path === 'handoff' ? `http://127.0.0.1:${port}/events/bench${i}` : `http://127.0.0.1:${port}/${path}/${i}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const get = (u: string) => new Promise<number>((resolve, reject) => http.get(u, { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject));
const threads = () => { const out: Record<string, number> = {}; for (const t of require('node:fs').readdirSync(`/proc/${host.pid}/task`)) { try { out[t] = Number(readFileSync(`/proc/${host.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6; } catch {} } return out; };
const cpu = () => { const f = readFileSync(`/proc/${host.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
if (process.env.PERF_PID_FILE) require('node:fs').writeFileSync(process.env.PERF_PID_FILE, String(host.pid));
{ let w = 0; const W = Number(process.env.WARM) || 2000; await Promise.all(Array.from({ length: 8 }, async () => { while (w < W) await get(url(w++)); })); }
const t0 = threads(); const c0 = cpu(); const times: number[] = [];
if (process.env.PERF_PID_FILE) await new Promise((r) => setTimeout(r, 1500));
for (let i = 0; i < (Number(process.env.SEQ) || 300); i++) { const t = performance.now(); const s = await get(url(i)); if (s !== 200) throw new Error('status ' + s); times.push(performance.now() - t); }
const c1 = cpu(); const t1 = threads(); { const n = Number(process.env.SEQ) || 300; const d = Object.entries(t1).map(([k, v]) => [k, v - (t0[k] ?? 0)] as const).filter(([, v]) => v > 0.5).sort((a, b) => Number(a[0]) - Number(b[0])); const mainTid = String(host.pid); const main = d.filter(([k]) => k === mainTid).reduce((a, [, v]) => a + v, 0); const big = d.filter(([k, v]) => k !== mainTid && v / n > 0.08); const small = d.filter(([k, v]) => k !== mainTid && v / n <= 0.08); console.log(`per request: main ${(main / n).toFixed(3)} ms, workers ${(big.reduce((a, [, v]) => a + v, 0) / n).toFixed(3)} ms (${big.length}), other threads ${(small.reduce((a, [, v]) => a + v, 0) / n).toFixed(3)} ms, total ${(d.reduce((a, [, v]) => a + v, 0) / n).toFixed(3)} ms`); }
times.sort((a, b) => a - b);
let done = 0; const until = performance.now() + (Number(process.env.TPUT_MS) || 4000); const st = performance.now();
await Promise.all(Array.from({ length: 16 }, async () => { while (performance.now() < until) { await get(url(done)); done++; } }));
const rps = done / ((performance.now() - st) / 1000);
console.log(`flags[${flags.join(' ')}] env[${process.argv[4] ?? ''}] ${path}: cpu/req ${((c1 - c0) / times.length).toFixed(2)} ms, p50 ${times[Math.floor(times.length/2)]!.toFixed(2)} ms, p99 ${times[Math.floor(times.length*0.99)]!.toFixed(2)} ms, ${rps.toFixed(0)} req/s x16`);
if (process.env.SHOW_HOST_OUT) console.log(hostOut.slice(0, 3000)); host.kill(); backend.close(); agent.destroy();
