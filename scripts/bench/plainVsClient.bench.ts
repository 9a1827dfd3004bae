// `npm run bench -- plainVsClient`: why the client library exists, in numbers. Plain subscribers (what
// a user writes from the browser's APIs: an EventSource, a WebSocket that subscribes with `since`
// again after a close, NDJSON and long-poll loops resuming with `since`; plainVsClient/plainSubscribers.ts)
// beside fanout-forward clients (a fleet, scripts/fleet) on every transport, straight to the local
// Pushpin with Redis history, through four faults, each on its own channel with fresh subscribers
// (`--clients`, 10, of each side per transport; `--restart-clients`, 50, for the restarts):
// - burst: `--burst` (1,000) messages of `--bytes` (1,000) published at once;
// - slow-readers: half of each side stops reading during a burst larger than their socket buffers and
//   Pushpin's (`--slow-messages`, 2,000, of `--slow-bytes`, 3,000, as slowConsumers.bench.ts) and reads
//   again 2 s after it;
// - pushpin-restart: Pushpin stopped and started again 2 s later while a message is published every 100 ms;
// - origin-restart: the origin stopped and started again likewise (publishes meanwhile through a second
//   origin on the same Redis, so every message stays retained and resumable).
// After each: five more messages, then up to `--wait` (75 s: past the client's 30 s silence check and
// 45 s idle timeout) for everyone to have everything. Prints and writes (bench-results/plain-vs-client/
// latest.json, latest.md) delivered / lost / duplicated per side, transport and fault; asserts nothing.
// `--quick` is the smoke run (test/load/plainVsClientBench.e2e.test.ts); `--help` lists the options. Pushpin
// profile: `--pushpin-profile` (default `fanout`, Fanout's own settings).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TransportName } from '../../client/index.ts';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import { startRedisServer } from '../shared/redisServer.ts';
import { historyIds, tallyDeliveries, waitForDeliveries, type TalliedMember } from '../fleet/deliveryTally.ts';
import { createFleet, type Fleet } from '../fleet/fleet.ts';
import { ensurePushpin } from '../pushpin/ensurePushpin.ts';
import { formatVersion } from '../pushpin/pushpinVersion.ts';
import { startLocalOrigin } from '../stack/localOrigin.ts';
import { startLocalStack, type LocalStack } from '../stack/localStack.ts';
import type { ManagedProcess } from '../shared/managedProcess.ts';
import { findFreePort, freeStackPorts } from '../shared/ports.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { argumentsWithProfile, benchPushpinProfile } from './benchEnv.ts';
import { runWithOptions } from './benchOptions.ts';
import type { PlainSubscriber } from './plainVsClient/plainRecord.ts';
import { startPlainSubscriber } from './plainVsClient/plainSubscribers.ts';
import {
  parsePlainVsClientOptions,
  PLAIN_VS_CLIENT_HELP,
  type PlainVsClientOptions,
} from './plainVsClient/plainVsClientOptions.ts';
import {
  faultRows,
  markdownReport,
  type BurstSize,
  type FaultName,
  type FaultRun,
  type PlainVsClientDocument,
  type PlainVsClientSettings,
} from './plainVsClient/plainVsClientReport.ts';

const TOKEN = 'bench-publish-token';
const ROUTE = { 'pushpin-route': 'origin' };
/** How long a restarted process stays down: a crash and a supervisor's restart. */
const DOWN_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100);

/** Publishes `items` through an origin; the ids it stored (a 502 or 503 names them in `stored`). */
async function publishItems(originUrl: string, items: unknown[]): Promise<number[]> {
  const response = await fetch(`${originUrl}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ items }),
  });
  const body = (await response.json().catch(() => ({}))) as { messages?: Array<{ id: string }>; stored?: Array<{ id: string }> };
  return (response.ok ? (body.messages ?? []) : (body.stored ?? [])).map((m) => Number(m.id));
}

/** One message every `intervalMs` through the first of `origins()` that takes it, until stopped. */
function publishSteadily(channel: string, origins: () => string[], intervalMs: number, acked: Set<number>): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      for (const origin of origins()) {
        const ids = await publishItems(origin, [{ channel, data: { steady: n } }]).catch(() => undefined);
        if (ids === undefined) continue; // refused: the next origin
        for (const id of ids) acked.add(id);
        break;
      }
      await sleep(intervalMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

interface Sides {
  plain: PlainSubscriber[];
  fleet: Fleet;
  all: TalliedMember[];
}

/** `perTransport` plain subscribers and as many clients on every transport, from the channel's start, ramped. */
async function startSides(stack: LocalStack, channel: string, perTransport: number, log: (line: string) => void): Promise<Sides> {
  const target = { baseUrl: stack.urls.pushpinProxy, headers: ROUTE, channel, since: '0' };
  const plain: PlainSubscriber[] = [];
  // The client as a user has it: its own default backoff (500 ms to 10 s, over the fleet's shorter one);
  // `ws` and node:http as its WebSocket and fetch (the fleet's).
  const fleet = createFleet({ url: stack.urls.pushpinProxy, headers: ROUTE, client: { backoff: { baseMs: 500, maxMs: 10_000 } } });
  // 5 of each side and transport a step (40 new connections, 10 of them WebSockets), 500 ms apart: a
  // burst of new connections makes Pushpin 1.36 answer some with 502 (which ends an EventSource for
  // good), and new WebSockets faster than ~40 a second did here.
  for (let i = 0; i < perTransport; i += 5) {
    if (i > 0) await sleep(500);
    for (const transport of TRANSPORT_NAMES) {
      for (let j = i; j < Math.min(perTransport, i + 5); j++) {
        plain.push(startPlainSubscriber(transport, target));
        fleet.add({ transport, channel, since: '0' });
      }
    }
  }
  await fleet.untilLive(60_000);
  let timer: NodeJS.Timeout | undefined;
  const notReady = await Promise.race([
    Promise.all(plain.map((p) => p.ready)).then(() => 0),
    new Promise<number>((resolve) => (timer = setTimeout(() => resolve(plain.filter((p) => !p.live).length), 60_000))),
  ]).finally(() => clearTimeout(timer));
  if (notReady > 0) log(`  ${notReady} plain subscriber(s) not subscribed after 60 s (counted as they are)`);
  return { plain, fleet, all: [...plain, ...fleet.members] };
}

/** Everyone has the first messages: every hold is in place and sequenced, so the fault is the only one. */
async function settle(originUrl: string, channel: string, sides: Sides, acked: Set<number>): Promise<void> {
  for (const id of await publishItems(originUrl, Array.from({ length: 5 }, (_, i) => ({ channel, data: { before: i } })))) acked.add(id);
  await waitForDeliveries(sides.all, new Map([[channel, acked]]), { timeoutMs: 30_000, settleMs: 0 });
}

/** Publishes `size.messages` of `size.bytes` at once (concurrent requests of 100); returns what it said it did. */
async function burst(originUrl: string, channel: string, size: BurstSize, acked: Set<number>): Promise<string> {
  const pad = 'x'.repeat(size.bytes);
  const requests: Array<Promise<number[]>> = [];
  for (let sent = 0; sent < size.messages; sent += 100) {
    const items = Array.from({ length: Math.min(100, size.messages - sent) }, (_, i) => ({ channel, data: { n: sent + i, pad } }));
    requests.push(publishItems(originUrl, items));
  }
  for (const ids of await Promise.all(requests)) for (const id of ids) acked.add(id);
  return (
    `${size.messages.toLocaleString('en-US')} x ${size.bytes.toLocaleString('en-US')} B published at once ` +
    `(${requests.length} concurrent request${requests.length > 1 ? 's' : ''} of up to 100)`
  );
}

async function runFault(fault: FaultName, stack: LocalStack, spareOriginUrl: string, settings: PlainVsClientSettings, log: (line: string) => void): Promise<FaultRun> {
  const channel = `plain-vs-client-${fault}-${Date.now()}`;
  const loadAverageBefore = load();
  const perTransport = fault === 'burst' || fault === 'slow-readers' ? settings.clients : settings.restartClients;
  const sides = await startSides(stack, channel, perTransport, log);
  const started = performance.now();
  const acked = new Set<number>();
  let description = '';
  try {
    await settle(stack.urls.origin, channel, sides, acked);
    if (fault === 'burst') {
      description = await burst(stack.urls.origin, channel, settings.burst, acked);
    } else if (fault === 'slow-readers') {
      const resumes = [...sides.plain.filter((_, i) => i % 2 === 0), ...sides.fleet.members.filter((_, i) => i % 2 === 0)].map((s) => s.stall(120_000));
      const cannot = resumes.filter((r) => r === undefined).length;
      description = `half of each side stopped reading during ${await burst(stack.urls.origin, channel, settings.slowReaders, acked)}, reading again 2 s after it`;
      if (cannot > 0) description += ` (${cannot} could not pause)`;
      await sleep(2000);
      for (const resume of resumes) resume?.();
    } else {
      const which = fault === 'pushpin-restart' ? 'pushpin' : 'origin';
      const stop = publishSteadily(channel, () => [stack.urls.origin, spareOriginUrl], 100, acked);
      await sleep(1000);
      const restartStarted = performance.now();
      await stack.restart(which, { downMs: DOWN_MS });
      const restartSeconds = (performance.now() - restartStarted) / 1000;
      await sleep(1500);
      await stop();
      description =
        which === 'pushpin'
          ? `Pushpin stopped, down ${DOWN_MS / 1000} s and started again (${restartSeconds.toFixed(1)} s in all) while a message was published every 100 ms`
          : `the origin stopped, down ${DOWN_MS / 1000} s and started again (${restartSeconds.toFixed(1)} s in all) while a message was published every 100 ms, ` +
            'through a second origin on the same Redis while it was down';
    }
    await sleep(2000);
    for (const id of await publishItems(stack.urls.origin, Array.from({ length: 5 }, (_, i) => ({ channel, data: { after: i } })))) acked.add(id);
    const expected = new Map([[channel, new Set([...acked, ...(await historyIds(stack.urls.origin, channel))])]]);
    // The clients first; then the plain subscribers for the rest of the wait (a quick run: a few seconds more).
    const deadline = Date.now() + settings.waitSeconds * 1000;
    await waitForDeliveries(sides.fleet.members, expected, { timeoutMs: settings.waitSeconds * 1000, settleMs: 0 });
    const plainMs = Math.max(0, deadline - Date.now());
    const graceMs = settings.plainGraceSeconds === undefined ? plainMs : Math.min(plainMs, settings.plainGraceSeconds * 1000);
    await waitForDeliveries(sides.all, expected, { timeoutMs: graceMs, settleMs: 1000 });
    const gaveUp: Partial<Record<TransportName, number>> = {};
    for (const p of sides.plain) if (p.gaveUp) gaveUp[p.transport] = (gaveUp[p.transport] ?? 0) + 1;
    return {
      fault,
      description,
      perTransport,
      loadAverageBefore,
      loadAverageAfter: load(),
      seconds: (performance.now() - started) / 1000,
      rows: faultRows(tallyDeliveries(sides.plain, expected), tallyDeliveries(sides.fleet.members, expected), gaveUp),
    };
  } finally {
    for (const p of sides.plain) p.close();
    sides.fleet.close();
  }
}

function pushpinVersion(): string {
  try {
    return formatVersion(ensurePushpin(undefined, () => {}).version);
  } catch {
    return 'unknown';
  }
}

/** `npm run bench -- plainVsClient --option...`: run.ts passes the options on. */
export const acceptsOptions = true;

export interface PlainVsClientRun {
  document: PlainVsClientDocument;
  files: { json: string; markdown: string };
}

export async function runPlainVsClient(options: PlainVsClientOptions, log: (line: string) => void = console.log): Promise<PlainVsClientRun> {
  const { settings } = options;
  const profile = benchPushpinProfile();
  const logDir = mkdtempSync(join(tmpdir(), 'bench-plain-vs-client-'));
  const redis = await startRedisServer();
  const originEnv = { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn', REDIS_URL: redis.url, HISTORY_MAX_MESSAGES: '100000' };
  let stack: LocalStack | undefined;
  let spare: ManagedProcess | undefined;
  try {
    stack = await startLocalStack({ pushpinProfile: profile, pushpin: true, ports: await freeStackPorts(), originEnv, logDir, echo: false, log: () => {} });
    const sparePort = await findFreePort();
    // Publishes go here while the routed origin is down (the same Redis: the same history and ids).
    spare = await startLocalOrigin({ port: sparePort, publishPort: stack.ports.pushpinPublish, env: originEnv, logFile: join(logDir, 'spare-origin.log'), echo: false });
    log(
      `plain subscribers vs the client library: ${settings.clients} of each per transport (${settings.restartClients} for the restarts), Pushpin profile ${profile}, Redis history; ` +
        `faults ${options.faults.join(', ')}; load average ${load().join(' ')}`,
    );
    const faults: FaultRun[] = [];
    for (const fault of options.faults) {
      log(`[${fault}] load average ${load().join(' ')}`);
      const result = await runFault(fault, stack, `http://127.0.0.1:${sparePort}`, settings, log);
      faults.push(result);
      for (const row of result.rows) {
        const side = (s: typeof row.plain): string => `${s.delivered}/${s.expected} delivered, lost ${s.lost}, duplicated ${s.duplicated}${s.outOfOrder ? `, out of order ${s.outOfOrder}` : ''}`;
        log(`  ${row.transport.padEnd(9)} plain: ${side(row.plain)} | client: ${side(row.client)}`);
      }
    }
    const args = argumentsWithProfile(options.args);
    const document: PlainVsClientDocument = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench -- plainVsClient ${args.join(' ')}`,
      pushpinProfile: profile,
      machine: { cpus: cpus().length, node: process.versions.node, pushpin: pushpinVersion() },
      settings,
      faults,
    };
    const markdown = markdownReport(document);
    log(`\n${markdown}`);
    const dir = resolve(PROJECT_ROOT, options.outDir);
    const files = { json: join(dir, 'latest.json'), markdown: join(dir, 'latest.md') };
    mkdirSync(dir, { recursive: true });
    writeFileSync(files.json, `${JSON.stringify(document, null, 2)}\n`);
    writeFileSync(files.markdown, markdown);
    log(`results: ${files.json}, ${files.markdown}`);
    return { document, files };
  } finally {
    await spare?.stop();
    await stack?.stop();
    await redis.stop();
  }
}

export async function run(args: string[] = []): Promise<void> {
  await runWithOptions('plainVsClient', args, parsePlainVsClientOptions, PLAIN_VS_CLIENT_HELP, (options) => runPlainVsClient(options));
}
