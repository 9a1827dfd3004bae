// `npm run bench -- publishCli`: bulk publish throughput of the publish CLI to a local Pushpin,
// side by side with a raw loop that POSTs the same prebuilt request bodies (node:http, keep-alive,
// one request at a time, as the CLI by default), in the same run. The CLI
// runs as a real child process reading a file; its rate is taken from its own --json summary (time
// from the first line read to the last request answered, without Node's start-up), and the wall time
// including start-up is printed too. Pushpin runs on free ports with log level 1: at its default
// level it logs a line per published item, and piped through a Node parent that logging, not
// publishing, sets the pace. It is stopped at the end.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { liveItemsForMessage, type GripPublishItem } from '../../origin/publishing/gripItems.ts';
import { ensurePushpin } from '../pushpin/ensurePushpin.ts';
import { buildPushpinConfig } from '../pushpin/pushpinConfig.ts';
import { benchPushpinProfile } from './benchEnv.ts';
import { descendantsOf, startManagedProcess, type ManagedProcess } from '../shared/managedProcess.ts';
import { findFreePort, findFreePortRange } from '../shared/ports.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

const MESSAGES = 20_000;
/** Messages per request for both sides: the CLI's default --batch (4 GRIP items each). */
const BATCH = 50;
const ROUNDS = 3;

function messageData(n: number): unknown {
  return { n, text: `update number ${n} for the dashboard`, ok: true };
}

/** The items the CLI sends for message n, built the same way (live channels, no id). */
function itemsFor(n: number, channel: string): GripPublishItem[] {
  return liveItemsForMessage({ channel, data: messageData(n), ts: Date.now() });
}

async function rawLoop(publishUrl: string, messages = MESSAGES): Promise<{ items: number; seconds: number }> {
  const bodies: string[] = [];
  let items = 0;
  for (let start = 0; start < messages; start += BATCH) {
    const batch: GripPublishItem[] = [];
    for (let n = start; n < Math.min(start + BATCH, messages); n++) batch.push(...itemsFor(n, 'bench-raw'));
    items += batch.length;
    bodies.push(JSON.stringify({ items: batch }));
  }
  // Bodies as bytes and node:http with keep-alive: the cheapest POST loop Node offers.
  const buffers = bodies.map((body) => Buffer.from(body));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(`${publishUrl}/publish/`);
  const post = (body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`raw publish answered ${res.statusCode}`))));
      });
      req.end(body);
    });
  const started = performance.now();
  for (const body of buffers) await post(body);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { items, seconds };
}

interface CliSummary {
  ok: boolean;
  sent: number;
  gripItems: number;
  requests: number;
  elapsedMs: number;
  itemsPerSecond: number;
  messagesPerSecond: number;
}

function runCli(file: string, publishUrl: string): Promise<{ summary: CliSummary; wallSeconds: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/publish.ts'), 'bench-cli', '--file', file, '--grip-url', publishUrl, '--batch', String(BATCH), '--json'],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`publish CLI exited ${code}: ${stderr}${stdout}`));
      resolve({ summary: JSON.parse(stdout) as CliSummary, wallSeconds });
    });
  });
}

/**
 * CPU seconds (user + system) Pushpin's processes (pushpin, condure, pushpin-proxy, pushpin-handler...)
 * have used so far, from /proc: with 2 cores shared by Pushpin and the publisher, this shows how much
 * of the machine each side of the comparison leaves the other. Undefined where /proc is missing.
 */
function pushpinCpuSeconds(pid: number): number | undefined {
  let ticks = 0;
  for (const p of [pid, ...descendantsOf(pid)]) {
    try {
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      if (p === pid) return undefined;
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Pushpin with no routes and warnings-only logging; ready when its publish endpoint answers. */
async function startQuietPushpin(workDir: string): Promise<{ publishUrl: string; process: ManagedProcess }> {
  const binary = ensurePushpin(undefined, () => {});
  const publishPort = await findFreePortRange(4);
  const files = buildPushpinConfig({
    profile: benchPushpinProfile(),
    version: binary.version,
    rundir: join(workDir, 'run'),
    logdir: join(workDir, 'logs'),
    proxyPort: await findFreePort(),
    publishPort,
    backends: [],
  });
  mkdirSync(join(workDir, 'run'), { recursive: true });
  writeFileSync(join(workDir, 'pushpin.conf'), files.config);
  writeFileSync(join(workDir, 'routes'), files.routes);
  const publishUrl = `http://127.0.0.1:${publishPort}`;
  const process = await startManagedProcess({
    name: 'pushpin',
    command: binary.path,
    args: [`--config=${join(workDir, 'pushpin.conf')}`, '--merge-output', '--loglevel=1'],
    cwd: workDir,
    ready: async () => (await fetch(`${publishUrl}/publish/`, { method: 'POST', body: '{"items":[]}' })).ok,
    logFile: join(workDir, 'logs', 'pushpin.log'),
  });
  return { publishUrl, process };
}

export async function run(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-publish-cli-'));
  const file = join(workDir, 'messages.ndjson');
  writeFileSync(file, Array.from({ length: MESSAGES }, (_, n) => JSON.stringify(messageData(n))).join('\n') + '\n');
  const pushpin = await startQuietPushpin(workDir);
  try {
    console.log(
      `${format(MESSAGES)} messages (${format(MESSAGES * 4)} GRIP items), ${BATCH} messages = ${BATCH * 4} items a request, ` +
        `sequential requests, to Pushpin at ${pushpin.publishUrl}; ${ROUNDS} rounds, raw then CLI`,
    );
    // Warm Pushpin and the HTTP path once, unmeasured.
    await rawLoop(pushpin.publishUrl, MESSAGES / 4);
    const raws: number[] = [];
    const clis: number[] = [];
    const walls: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const cpu0 = pushpinCpuSeconds(pushpin.process.pid);
      const raw = await rawLoop(pushpin.publishUrl);
      const rawRate = raw.items / raw.seconds;
      const cpu1 = pushpinCpuSeconds(pushpin.process.pid);
      const cli = await runCli(file, pushpin.publishUrl);
      const cpu2 = pushpinCpuSeconds(pushpin.process.pid);
      if (cli.summary.sent !== MESSAGES) throw new Error(`the CLI sent ${cli.summary.sent} of ${MESSAGES}`);
      raws.push(rawRate);
      clis.push(cli.summary.itemsPerSecond);
      walls.push((MESSAGES * 4) / cli.wallSeconds);
      console.log(
        `round ${round}: raw POST loop ${format(rawRate)} items/s (${raw.seconds.toFixed(2)} s); ` +
          `CLI ${format(cli.summary.itemsPerSecond)} items/s (${(cli.summary.elapsedMs / 1000).toFixed(2)} s publishing, ` +
          `${cli.wallSeconds.toFixed(2)} s wall with start-up); ratio ${(cli.summary.itemsPerSecond / rawRate).toFixed(2)}`,
      );
      if (cpu0 !== undefined && cpu1 !== undefined && cpu2 !== undefined) {
        console.log(
          `  Pushpin CPU: ${(cpu1 - cpu0).toFixed(2)} s during the raw loop, ${(cpu2 - cpu1).toFixed(2)} s during the CLI run ` +
            `(${format(raw.items / Math.max(cpu1 - cpu0, 0.01))} and ${format(cli.summary.gripItems / Math.max(cpu2 - cpu1, 0.01))} items per Pushpin CPU second)`,
        );
      }
    }
    const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const ratios = raws.map((raw, i) => clis[i]! / raw);
    console.log(`raw batched POST loop: ${format(median(raws))} items/s median, ${format(Math.max(...raws))} best (${format(median(raws) / 4)} messages/s)`);
    console.log(`publish CLI (--file):  ${format(median(clis))} items/s median, ${format(Math.max(...clis))} best (${format(median(clis) / 4)} messages/s)`);
    console.log(`CLI wall time incl. Node start-up: ${format(median(walls))} items/s median`);
    console.log(`ratio CLI / raw: ${median(ratios).toFixed(2)} median of rounds, ${(Math.max(...clis) / Math.max(...raws)).toFixed(2)} best / best (aim: >= 0.80)`);
  } finally {
    await pushpin.process.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
