// `npm run bench -- originPublish [options]`: what the origin's POST /api/publish costs, with the
// memory and with the Redis history store. Each message is stored (numbered), then published to the
// real Pushpin (4 GRIP items, one per transport); no subscribers, so the figure is the origin's own
// ceiling. K publishers (K channels) send one message per request, each waiting for its answer, for S
// seconds; then the same with 50 messages a request. Reports messages/s, latency, and CPU seconds per
// 1,000 messages of the origin, Redis and Pushpin's handler. Writes latest.json and latest.md to
// bench-results/origin-publish/. Prints numbers, asserts nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { startRedisServer, type RunningRedis } from '../../test/harness/redisServer.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../stack/ports.ts';
import { PROJECT_ROOT } from '../stack/projectRoot.ts';
import { emptyHistogram, quantileOf, record } from './fanout/latencyHistogram.ts';
import { loadAverage, pushpinProcesses, round, startUsageWindow, type MeasuredProcess } from './fanout/processUsage.ts';
import { argumentsWithProfile, benchPushpinProfile } from './benchEnv.ts';

/** `npm run bench -- originPublish --option...`: run.ts passes the options on. */
export const acceptsOptions = true;

const TOKEN = 'bench-publish-token';
const HELP = `Usage: npm run bench -- originPublish [--stores memory,redis] [--publishers 1,8,32] [--seconds S] [--out DIR]

  --stores LIST       history stores to measure (default memory,redis)
  --publishers LIST   concurrent publishers, each on its own channel (default 1,8,32)
  --seconds S         seconds per measurement (default 5)
  --out DIR           results folder (default bench-results/origin-publish)
`;

interface PublishRow {
  store: 'memory' | 'redis';
  publishers: number;
  messagesPerRequest: number;
  messages: number;
  failures: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p99: number };
  cpuPer1000Messages: Record<string, number>;
  loadAverage: [number, number, number];
}

function parse(args: string[]): { stores: Array<'memory' | 'redis'>; publishers: number[]; seconds: number; outDir: string; help: boolean } {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: { stores: { type: 'string' }, publishers: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const stores = (values.stores ?? 'memory,redis').split(',').map((s) => s.trim());
  for (const s of stores) if (s !== 'memory' && s !== 'redis') throw new Error(`--stores takes memory and redis, got "${s}"`);
  const publishers = (values.publishers ?? '1,8,32').split(',').map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s.trim()) || n < 1 || n > 256) throw new Error(`--publishers takes whole numbers from 1 to 256, got "${s}"`);
    return n;
  });
  const seconds = Number(values.seconds ?? 5);
  if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds must be above 0 and at most 600, got "${values.seconds}"`);
  return { stores: stores as Array<'memory' | 'redis'>, publishers, seconds, outDir: values.out ?? 'bench-results/origin-publish', help: values.help === true };
}

async function measure(url: string, publishers: number, perRequest: number, seconds: number): Promise<{ messages: number; failures: number; latency: ReturnType<typeof emptyHistogram>; elapsed: number }> {
  const latency = emptyHistogram();
  let messages = 0;
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async (_, k) => {
      const channel = `origin-publish-${k}`;
      let seq = 0;
      while (performance.now() < until) {
        const body =
          perRequest === 1
            ? { channel, data: { seq: seq++, text: 'x'.repeat(100) } }
            : { items: Array.from({ length: perRequest }, () => ({ channel, data: { seq: seq++, text: 'x'.repeat(100) } })) };
        const t0 = performance.now();
        const response = await fetch(url, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
        record(latency, performance.now() - t0);
        if (response.ok) messages += perRequest;
        else failures += perRequest;
      }
    }),
  );
  return { messages, failures, latency, elapsed: (performance.now() - started) / 1000 };
}

export async function run(args: string[] = []): Promise<void> {
  let options: ReturnType<typeof parse>;
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
      if (store === 'redis') redis = await startRedisServer();
      const stack = await startLocalStack({
        pushpinProfile: benchPushpinProfile(),
        ports: await freeStackPorts(),
        // Whatever fastly.toml says: the publishes go on to Pushpin's handler, which is measured too.
        pushpin: true,
        originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn', ...(redis ? { REDIS_URL: redis.url } : {}) },
        logDir,
        echo: false,
        log: () => {},
      });
      try {
        const measured: MeasuredProcess[] = [
          { name: 'origin', pid: stack.pids.origin },
          ...pushpinProcesses(stack.pids.pushpin).filter((p) => p.name === 'pushpin-handler'),
          ...(redis ? [{ name: 'redis', pid: redis.pid }] : []),
        ];
        const url = `${stack.urls.origin}/api/publish`;
        await measure(url, 4, 1, 1); // warm-up: JIT, connections, channel records
        for (const perRequest of [1, 50]) {
          for (const publishers of options.publishers) {
            const load = loadAverage();
            const usage = startUsageWindow(measured);
            const result = await measure(url, publishers, perRequest, options.seconds);
            const cpu = usage();
            const row: PublishRow = {
              store,
              publishers,
              messagesPerRequest: perRequest,
              messages: result.messages,
              failures: result.failures,
              messagesPerSecond: round(result.messages / result.elapsed, 0),
              latencyMs: { p50: round(quantileOf(result.latency, 0.5), 2), p99: round(quantileOf(result.latency, 0.99), 2) },
              cpuPer1000Messages: Object.fromEntries(cpu.map((u) => [u.name, round((u.cpuSeconds / Math.max(1, result.messages)) * 1000, 3)])),
              loadAverage: load,
            };
            rows.push(row);
            console.log(
              `${store.padEnd(6)} ${String(publishers).padStart(3)} publishers x ${String(perRequest).padStart(2)} msg/request: ` +
                `${row.messagesPerSecond} msg/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, failures ${row.failures}; ` +
                `CPU s per 1,000 msgs: ${Object.entries(row.cpuPer1000Messages).map(([n, v]) => `${n} ${v}`).join(', ')}; load avg ${load[0].toFixed(1)}`,
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
  const md = [
    `POST /api/publish on ${cpus().length} cores, no subscribers, publishers on the same machine (${doc.generatedAt}); each message stored, then published to Pushpin ` +
      `(Pushpin profile ${pushpinProfile}) as 4 GRIP items.`,
    '',
    '| store | publishers | msgs/request | msgs/s | p50 ms | p99 ms | CPU s per 1,000 msgs | load avg |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.publishers} | ${r.messagesPerRequest} | ${r.messagesPerSecond.toLocaleString('en-US')} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ` +
        `${Object.entries(r.cpuPer1000Messages).map(([n, v]) => `${n} ${v}`).join(', ')} | ${r.loadAverage[0].toFixed(1)} |`,
    ),
    '',
    `Reproduce: \`npm run bench -- originPublish ${argumentsWithProfile(args, pushpinProfile).join(' ')}\``,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'latest.md'), md);
  console.log(`results: ${join(dir, 'latest.json')}, ${join(dir, 'latest.md')}`);
}
