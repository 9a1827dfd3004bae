// `npm run bench -- publishCli`: bulk publish throughput of the publish CLI to a local Pushpin,
// side by side with a raw loop that POSTs the same prebuilt request bodies, in the same run. The CLI
// runs as a real child process reading a file; its rate is taken from its own --json summary (time
// from the first line read to the last request answered, without Node's start-up), and the wall time
// including start-up is printed too. Pushpin runs on free ports and is stopped at the end.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { itemsForMessage, type GripPublishItem } from '../../origin/publishing/gripItems.ts';
import { startPushpin } from '../pushpin/pushpinProcess.ts';
import { findFreePort, findFreePortRange } from '../stack/ports.ts';
import { PROJECT_ROOT } from '../stack/projectRoot.ts';

const MESSAGES = 12_500;
/** Messages per request for both sides: the CLI's default --batch (4 GRIP items each). */
const BATCH = 50;
const ROUNDS = 2;

function messageData(n: number): unknown {
  return { n, text: `update number ${n} for the dashboard`, ok: true };
}

/** The items the CLI sends for message n, built the same way (no GRIP id without --id). */
function itemsFor(n: number, channel: string): GripPublishItem[] {
  const id = String(Date.now() * 1000 + n);
  return itemsForMessage({ id, channel, data: messageData(n), ts: Date.now() }, undefined, { gripIds: false });
}

async function rawLoop(publishUrl: string): Promise<{ items: number; seconds: number }> {
  const bodies: string[] = [];
  let items = 0;
  for (let start = 0; start < MESSAGES; start += BATCH) {
    const batch: GripPublishItem[] = [];
    for (let n = start; n < Math.min(start + BATCH, MESSAGES); n++) batch.push(...itemsFor(n, 'bench-raw'));
    items += batch.length;
    bodies.push(JSON.stringify({ items: batch }));
  }
  const started = performance.now();
  for (const body of bodies) {
    const response = await fetch(`${publishUrl}/publish/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    if (!response.ok) throw new Error(`raw publish answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  return { items, seconds: (performance.now() - started) / 1000 };
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

const format = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function run(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-publish-cli-'));
  const file = join(workDir, 'messages.ndjson');
  writeFileSync(file, Array.from({ length: MESSAGES }, (_, n) => JSON.stringify(messageData(n))).join('\n') + '\n');
  const pushpin = await startPushpin({
    backends: [],
    proxyPort: await findFreePort(),
    publishPort: await findFreePortRange(4),
    logDir: join(workDir, 'logs'),
    echo: false,
    log: () => {},
  });
  try {
    console.log(
      `${format(MESSAGES)} messages (${format(MESSAGES * 4)} GRIP items), ${BATCH} messages = ${BATCH * 4} items a request, ` +
        `sequential requests, to Pushpin at ${pushpin.publishUrl}; best of ${ROUNDS} rounds`,
    );
    // Warm Pushpin and the HTTP connection path once, unmeasured.
    await rawLoop(pushpin.publishUrl);
    let bestRaw = 0;
    let bestCli: { summary: CliSummary; wallSeconds: number } | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = await rawLoop(pushpin.publishUrl);
      const rawRate = raw.items / raw.seconds;
      bestRaw = Math.max(bestRaw, rawRate);
      const cli = await runCli(file, pushpin.publishUrl);
      if (cli.summary.sent !== MESSAGES) throw new Error(`the CLI sent ${cli.summary.sent} of ${MESSAGES}`);
      console.log(
        `round ${round}: raw POST loop ${format(rawRate)} items/s (${raw.seconds.toFixed(2)} s); ` +
          `CLI ${format(cli.summary.itemsPerSecond)} items/s (${(cli.summary.elapsedMs / 1000).toFixed(2)} s publishing, ` +
          `${cli.wallSeconds.toFixed(2)} s wall with start-up)`,
      );
      if (!bestCli || cli.summary.itemsPerSecond > bestCli.summary.itemsPerSecond) bestCli = cli;
    }
    const cliRate = bestCli!.summary.itemsPerSecond;
    console.log(`raw batched POST loop: ${format(bestRaw)} items/s (${format(bestRaw / 4)} messages/s)`);
    console.log(`publish CLI (--file):  ${format(cliRate)} items/s (${format(bestCli!.summary.messagesPerSecond)} messages/s)`);
    console.log(`CLI wall time incl. Node start-up: ${format((MESSAGES * 4) / bestCli!.wallSeconds)} items/s`);
    console.log(`ratio CLI / raw: ${(cliRate / bestRaw).toFixed(2)} (aim: >= 0.80)`);
  } finally {
    await pushpin.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
