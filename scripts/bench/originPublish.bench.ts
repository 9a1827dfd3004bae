// `npm run bench -- originPublish [options]`: what the origin's POST /api/publish costs, with the
// memory history store, with Redis, and with Redis persisting every write (appendfsync always). Each
// message is stored (numbered), then published to the real Pushpin (three GRIP items: see
// publishing/gripItems.ts); no subscribers, so the figure is the origin's own ceiling. K publishers (K channels) send
// one message per request, each waiting for its answer, for S seconds; then the same with 50 messages a
// request. Before each one-message run, the same client and the same K publishers post single items
// straight to Pushpin's publish endpoint (`POST /publish/`, one item a request): the yardstick the
// origin's figure is compared with, measured under the same machine load. Reports messages/s,
// latency, CPU seconds per 1,000 messages of the origin, Redis, Pushpin's handler and this client,
// how many messages shared a history round trip and a proxy request (the origin's /metrics), and the
// load average at the start and end of each run. `--cpu-prof DIR` runs the origin with
// `node --cpu-prof` (profiles in DIR/<store>/: the largest is the main thread's). Writes latest.json and latest.md to
// bench-results/origin-publish/. Prints numbers, asserts nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { startRedisServer, type RunningRedis } from '../shared/redisServer.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { emptyHistogram, quantileOf, record } from './fanout/latencyHistogram.ts';
import { loadAverage, pushpinProcesses, round, startUsageWindow, type MeasuredProcess } from './fanout/processUsage.ts';
import { argumentsWithProfile, benchPushpinProfile } from './benchEnv.ts';

/** `npm run bench -- originPublish --option...`: run.ts passes the options on. */
export const acceptsOptions = true;

const TOKEN = 'bench-publish-token';
const STORES = ['memory', 'redis', 'redis-fsync'] as const;
type Store = (typeof STORES)[number];

const HELP = `Usage: npm run bench -- originPublish [--stores memory,redis,redis-fsync] [--publishers 1,8,32]
                                     [--per-request 1,50] [--seconds S] [--cpu-prof DIR] [--out DIR]

  --stores LIST       history stores to measure (default memory,redis,redis-fsync; redis-fsync is Redis
                      with appendonly yes and appendfsync always)
  --publishers LIST   concurrent publishers, each on its own channel (default 1,8,32)
  --per-request LIST  messages per request (default 1,50); one-message runs are paired with single
                      items posted straight to Pushpin
  --seconds S         seconds per measurement (default 5)
  --cpu-prof DIR      run the origin under node --cpu-prof, writing its profiles to DIR/<store>/ (the
                      largest file is the main thread's; the others are module loader threads)
  --out DIR           results folder (default bench-results/origin-publish)
`;

interface PublishRow {
  store: Store;
  /** 'origin': POST /api/publish; 'pushpin': single items straight to Pushpin's POST /publish/. */
  target: 'origin' | 'pushpin';
  publishers: number;
  messagesPerRequest: number;
  messages: number;
  failures: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p99: number };
  cpuPer1000Messages: Record<string, number>;
  /** The 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number };
  /** Origin runs: messages stored per history round trip and sent per proxy request (its coalescing), from /metrics. */
  perStoreRound?: number;
  perProxyRequest?: number;
}

/** The origin's publish counters (undefined where an origin has none: one from before coalescing). */
async function publishCounters(originUrl: string): Promise<{ messages: number; rounds?: number; requests?: number }> {
  const text = await (await fetch(`${originUrl}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
  const value = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(text);
    return match ? Number(match[1]) : undefined;
  };
  return {
    messages: value(/^origin_messages_published_total\{source="api"\} (\S+)$/m) ?? 0,
    rounds: value(/^origin_publish_store_rounds_total (\S+)$/m),
    requests: value(/^origin_publish_proxy_requests_total (\S+)$/m),
  };
}

interface Options {
  stores: Store[];
  publishers: number[];
  perRequest: number[];
  seconds: number;
  cpuProfDir: string | undefined;
  outDir: string;
  help: boolean;
}

function numberList(raw: string, name: string, max: number): number[] {
  return raw.split(',').map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s.trim()) || n < 1 || n > max) throw new Error(`--${name} takes whole numbers from 1 to ${max}, got "${s}"`);
    return n;
  });
}

function parse(args: string[]): Options {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      stores: { type: 'string' },
      publishers: { type: 'string' },
      'per-request': { type: 'string' },
      seconds: { type: 'string' },
      'cpu-prof': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const stores = (values.stores ?? STORES.join(',')).split(',').map((s) => s.trim());
  for (const s of stores) if (!(STORES as readonly string[]).includes(s)) throw new Error(`--stores takes ${STORES.join(', ')}, got "${s}"`);
  const seconds = Number(values.seconds ?? 5);
  if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds must be above 0 and at most 600, got "${values.seconds}"`);
  return {
    stores: stores as Store[],
    publishers: numberList(values.publishers ?? '1,8,32', 'publishers', 256),
    perRequest: numberList(values['per-request'] ?? '1,50', 'per-request', 1000),
    seconds,
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    outDir: values.out ?? 'bench-results/origin-publish',
    help: values.help === true,
  };
}

interface Measurement {
  messages: number;
  failures: number;
  latency: ReturnType<typeof emptyHistogram>;
  elapsed: number;
}

/** K loops, each sending one request and waiting for its answer, until the time is up. */
async function measure(
  publishers: number,
  perRequest: number,
  seconds: number,
  request: (publisher: number, firstSeq: number) => { url: string; headers: Record<string, string>; body: string },
): Promise<Measurement> {
  const latency = emptyHistogram();
  let messages = 0;
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async (_, k) => {
      let seq = 0;
      while (performance.now() < until) {
        const { url, headers, body } = request(k, seq);
        seq += perRequest;
        const t0 = performance.now();
        let ok = false;
        try {
          const response = await fetch(url, { method: 'POST', headers, body });
          await response.arrayBuffer();
          ok = response.ok;
        } catch {
          ok = false;
        }
        record(latency, performance.now() - t0);
        if (ok) messages += perRequest;
        else failures += perRequest;
      }
    }),
  );
  return { messages, failures, latency, elapsed: (performance.now() - started) / 1000 };
}

const payload = (seq: number) => ({ seq, text: 'x'.repeat(100) });

function originRequest(url: string, perRequest: number) {
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  return (k: number, seq: number) => {
    const channel = `origin-publish-${k}`;
    const body =
      perRequest === 1
        ? { channel, data: payload(seq) }
        : { items: Array.from({ length: perRequest }, (_, i) => ({ channel, data: payload(seq + i) })) };
    return { url, headers, body: JSON.stringify(body) };
  };
}

/** One item a request, as a GRIP publisher posting straight to the proxy does (an SSE event's worth). */
function pushpinRequest(publishUrl: string) {
  const url = `${publishUrl}/publish/`;
  const headers = { 'Content-Type': 'application/json' };
  return (k: number, seq: number) => {
    const content = `data: ${JSON.stringify({ channel: `straight-${k}`, data: payload(seq), ts: Date.now() })}\n\n`;
    return { url, headers, body: JSON.stringify({ items: [{ channel: `sse:straight-${k}`, formats: { 'http-stream': { content } } }] }) };
  };
}

function clientCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

async function measureRow(
  base: Pick<PublishRow, 'store' | 'target' | 'publishers' | 'messagesPerRequest'>,
  measured: MeasuredProcess[],
  run: () => Promise<Measurement>,
  originUrl?: string,
): Promise<PublishRow> {
  const countersBefore = originUrl ? await publishCounters(originUrl) : undefined;
  const loadStart = loadAverage()[0];
  const usage = startUsageWindow(measured);
  const clientBefore = clientCpuSeconds();
  const result = await run();
  const clientSeconds = clientCpuSeconds() - clientBefore;
  const cpu = usage();
  const countersAfter = originUrl ? await publishCounters(originUrl) : undefined;
  const ratio = (key: 'rounds' | 'requests'): number | undefined => {
    const before = countersBefore?.[key];
    const after = countersAfter?.[key];
    if (before === undefined || after === undefined || after === before) return undefined;
    return round((countersAfter!.messages - countersBefore!.messages) / (after - before), 2);
  };
  const per1000 = (seconds: number) => round((seconds / Math.max(1, result.messages)) * 1000, 3);
  const row: PublishRow = {
    ...base,
    messages: result.messages,
    failures: result.failures,
    messagesPerSecond: round(result.messages / result.elapsed, 0),
    latencyMs: { p50: round(quantileOf(result.latency, 0.5), 2), p99: round(quantileOf(result.latency, 0.99), 2) },
    cpuPer1000Messages: { ...Object.fromEntries(cpu.map((u) => [u.name, per1000(u.cpuSeconds)])), client: per1000(clientSeconds) },
    loadAverage: { start: loadStart, end: loadAverage()[0] },
    ...(ratio('rounds') !== undefined ? { perStoreRound: ratio('rounds')! } : {}),
    ...(ratio('requests') !== undefined ? { perProxyRequest: ratio('requests')! } : {}),
  };
  console.log(
    `${row.store.padEnd(11)} ${row.target.padEnd(7)} ${String(row.publishers).padStart(3)} publishers x ${String(row.messagesPerRequest).padStart(2)} msg/request: ` +
      `${row.messagesPerSecond} msg/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, failures ${row.failures}; ` +
      `CPU s per 1,000 msgs: ${Object.entries(row.cpuPer1000Messages).map(([n, v]) => `${n} ${v}`).join(', ')}; ` +
      (row.perProxyRequest !== undefined ? `msgs per store round ${row.perStoreRound}, per proxy request ${row.perProxyRequest}; ` : '') +
      `load avg ${row.loadAverage.start.toFixed(1)} -> ${row.loadAverage.end.toFixed(1)}`,
  );
  return row;
}

function markdown(doc: { generatedAt: string; cpus: number; seconds: number; pushpinProfile: string; rows: PublishRow[] }, args: string[]): string {
  const straight = (r: PublishRow) =>
    doc.rows.find((s) => s.target === 'pushpin' && s.store === r.store && s.publishers === r.publishers && s.messagesPerRequest === 1);
  const cpu = (r: PublishRow) => Object.entries(r.cpuPer1000Messages).map(([n, v]) => `${n} ${v}`).join(', ');
  const originRows = doc.rows.filter((r) => r.target === 'origin');
  return [
    `POST /api/publish on ${doc.cpus} cores, no subscribers, publishers on the same machine (${doc.generatedAt}, ${doc.seconds} s a run); ` +
      `each message stored, then published to Pushpin (Pushpin profile ${doc.pushpinProfile}). "straight" is the same client posting single items straight to Pushpin (POST /publish/, one item a request) just before.`,
    '',
    '| store | publishers | msgs/request | msgs/s | p50 ms | p99 ms | straight items/s (p50 ms) | vs straight | msgs per store round / proxy request | CPU s per 1,000 msgs | load avg start -> end |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...originRows.map((r) => {
      const s = r.messagesPerRequest === 1 ? straight(r) : undefined;
      const vs = s ? `${(r.messagesPerSecond / Math.max(1, s.messagesPerSecond)).toFixed(2)}x` : '';
      return (
        `| ${r.store} | ${r.publishers} | ${r.messagesPerRequest} | ${r.messagesPerSecond.toLocaleString('en-US')} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ` +
        `${s ? `${s.messagesPerSecond.toLocaleString('en-US')} (${s.latencyMs.p50})` : ''} | ${vs} | ` +
        `${r.perProxyRequest !== undefined ? `${r.perStoreRound} / ${r.perProxyRequest}` : ''} | ${cpu(r)} | ${r.loadAverage.start.toFixed(1)} -> ${r.loadAverage.end.toFixed(1)} |`
      );
    }),
    '',
    `Reproduce: \`npm run bench -- originPublish${args.length ? ` ${args.join(' ')}` : ''}\``,
    '',
  ].join('\n');
}

export async function run(args: string[] = []): Promise<void> {
  let options: Options;
  try {
    options = parse(args);
  } catch (error) {
    console.error(`originPublish: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(HELP);
    return;
  }
  const rows: PublishRow[] = [];
  for (const store of options.stores) {
    let redis: RunningRedis | undefined;
    const logDir = mkdtempSync(join(tmpdir(), 'bench-origin-publish-'));
    try {
      if (store !== 'memory') redis = await startRedisServer(store === 'redis-fsync' ? { dataDir: join(logDir, 'redis'), durable: true } : {});
      if (options.cpuProfDir) mkdirSync(options.cpuProfDir, { recursive: true });
      const stack = await startLocalStack({
        pushpinProfile: benchPushpinProfile(),
        ports: await freeStackPorts(),
        // Whatever fastly.toml says: the publishes go on to Pushpin's handler, which is measured too.
        pushpin: true,
        originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn', ...(redis ? { REDIS_URL: redis.url } : {}) },
        ...(options.cpuProfDir ? { originNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfDir, store)}`] } : {}),
        logDir,
        echo: false,
        log: () => {},
      });
      try {
        const handler = pushpinProcesses(stack.pids.pushpin).filter((p) => p.name === 'pushpin-handler');
        const originMeasured: MeasuredProcess[] = [{ name: 'origin', pid: stack.pids.origin }, ...handler, ...(redis ? [{ name: 'redis', pid: redis.pid }] : [])];
        const url = `${stack.urls.origin}/api/publish`;
        const toPushpin = pushpinRequest(stack.urls.pushpinPublish);
        // Warm-up: JIT, connections, channel records.
        await measure(4, 1, 1, originRequest(url, 1));
        await measure(4, 1, 1, toPushpin);
        for (const perRequest of options.perRequest) {
          for (const publishers of options.publishers) {
            if (perRequest === 1) {
              rows.push(
                await measureRow({ store, target: 'pushpin', publishers, messagesPerRequest: 1 }, handler, () =>
                  measure(publishers, 1, options.seconds, toPushpin),
                ),
              );
            }
            rows.push(
              await measureRow(
                { store, target: 'origin', publishers, messagesPerRequest: perRequest },
                originMeasured,
                () => measure(publishers, perRequest, options.seconds, originRequest(url, perRequest)),
                stack.urls.origin,
              ),
            );
          }
        }
      } finally {
        await stack.stop();
      }
    } finally {
      await redis?.stop();
      rmSync(logDir, { recursive: true, force: true });
    }
  }
  const dir = resolve(PROJECT_ROOT, options.outDir);
  mkdirSync(dir, { recursive: true });
  const pushpinProfile = benchPushpinProfile();
  const doc = { generatedAt: new Date().toISOString(), cpus: cpus().length, node: process.versions.node, pushpinProfile, seconds: options.seconds, rows };
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), markdown(doc, argumentsWithProfile(args, pushpinProfile)));
  if (options.cpuProfDir) console.log(`origin CPU profiles: ${options.cpuProfDir}`);
  console.log(`results: ${join(dir, 'latest.json')}, ${join(dir, 'latest.md')}`);
}
