// One run of the fan-out benchmark: N subscribers of one kind (or the mix) on one channel of one system
// (our stack: Pushpin + origin, optionally through the edge; or the Socket.IO server), a publisher at
// R msg/s for S seconds, then the tally. Everything it starts is stopped before it returns or throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../stack/localStack.ts';
import { startManagedProcess, type ManagedProcess } from '../../shared/managedProcess.ts';
import { findFreePort, freeStackPorts } from '../../shared/ports.ts';
import { PROJECT_ROOT } from '../../shared/projectRoot.ts';
import { quantileOf } from './latencyHistogram.ts';
import { loadProcessesFor, transportsFor, type TransportChoice, type Via } from './fanoutOptions.ts';
import { startLoadGenerator, type LoadGenerator } from './loadProcesses.ts';
import {
  loadAverage,
  openFilesLimit,
  pushpinProcesses,
  round,
  startUsageWindow,
  sumByName,
  type MeasuredProcess,
  type ProcessUsage,
} from './processUsage.ts';
import { startPublisher } from './publisher.ts';
import type { ClientKind } from './subscriberGroup.ts';
import { benchPushpinProfile } from '../benchEnv.ts';
import type { PushpinProfileName } from '../../pushpin/pushpinProfiles.ts';

export const BENCH_TOKEN = 'bench-publish-token';
export const BENCH_CHANNEL = 'fanout-bench';

export type SystemName = 'pushpin' | 'socketio';

export interface CaseSpec {
  system: SystemName;
  /** For Socket.IO always its WebSocket clients. */
  transport: TransportChoice | 'socketio';
  subscribers: number;
  rate: number;
  seconds: number;
  via: Via;
  drainSeconds: number;
  loadProcesses: number | undefined;
  log: (line: string) => void;
}

export interface CaseResult {
  system: SystemName;
  transport: TransportChoice | 'socketio';
  via: Via | 'direct';
  subscribers: number;
  rate: number;
  seconds: number;
  /** Subscribers per transport (the mix). */
  composition: Partial<Record<ClientKind, number>>;
  loadAverageBefore: [number, number, number];
  loadAverageAfter: [number, number, number];
  connect: { seconds: number; perSecond: number; notSubscribed: number; failures: number; cpuSeconds: Record<string, number> };
  published: number;
  publishFailures: number;
  /** Why publishes failed (see Publisher); absent in results recorded before it was kept. */
  publishFailureReasons?: Record<string, number>;
  /** Messages stored and answered times subscribers: what a failed publish is not counted in. */
  expected: number;
  received: number;
  lost: number;
  /** Messages handed to the application twice (by our clients: a client bug). */
  duplicates: number;
  /** Messages our clients handed on below one handed on before (a client bug); absent in older rows. */
  outOfOrder?: number;
  /** Messages the proxy sent again that our clients dropped; absent in older rows and Socket.IO's. */
  duplicatesDropped?: number;
  subscribersWithLoss: number;
  reconnects: number;
  /** Why our clients connected again (the client's recovery reasons: gap, silent, cut, ...); absent when none. */
  recoveries?: Record<string, number>;
  resets: number;
  /** Unique deliveries per second, from the first publish to the last delivery. */
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** CPU seconds in the publish window and peak RSS, per process (Pushpin's by service name). */
  processes: ProcessUsage[];
  /** CPU seconds of the server that holds the connections per 1,000 deliveries (origin or Socket.IO server). */
  serverCpuPer1000: number;
  /** What reached the origin during the publish window (ours only): new holds and WebSocket-over-HTTP events. */
  originDuringWindow?: { holdsOpened: number; websocketEvents: number };
  /** Pushpin's delivery settings (ours only); absent in rows recorded before profiles, which ran `gentle`'s. */
  pushpinProfile?: PushpinProfileName;
}

/** Descriptors one process needs beyond one per connection (libraries, pipes, IPC, listening sockets). */
const FD_HEADROOM = 512;

export function descriptorsNeeded(spec: Pick<CaseSpec, 'system' | 'subscribers' | 'via'>): number {
  // condure (or the Socket.IO server) holds one descriptor per subscriber; the local Compute host two
  // (the client's and its own to Pushpin).
  return (spec.system === 'pushpin' && spec.via === 'edge' ? 2 : 1) * spec.subscribers + FD_HEADROOM;
}

export function assertDescriptors(spec: Pick<CaseSpec, 'system' | 'subscribers' | 'via'>): void {
  const limit = openFilesLimit();
  const needed = descriptorsNeeded(spec);
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `${spec.subscribers} subscribers (${spec.system}${spec.via === 'edge' ? ' through the edge' : ''}) need at least ${needed} open files per process, ` +
        `and this shell allows ${limit}. Raise it first (\`ulimit -n 65536\`; the hard limit, \`ulimit -Hn\`, caps it) or use fewer subscribers.`,
    );
  }
}

interface SystemUnderTest {
  baseUrl: string;
  headers: Record<string, string>;
  publishUrl: string;
  measured: MeasuredProcess[];
  /** The process that holds the connections for the CPU-per-delivery figure. */
  server: string;
  originMetricsUrl?: string;
  pushpinProfile?: PushpinProfileName;
  /** The stack's logs: removed after a run that worked, kept (and named) after one that failed. */
  logDir?: string;
  stop(): Promise<void>;
}

async function startOurs(spec: CaseSpec): Promise<SystemUnderTest> {
  const edge = spec.via === 'edge';
  const logDir = mkdtempSync(join(tmpdir(), 'bench-fanout-'));
  const stack: LocalStack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts({ edge }),
    ...(edge ? { edge: true } : {}),
    // Whatever fastly.toml's [local_server.pushpin] enable says: this benchmark measures Pushpin.
    pushpin: true,
    originEnv: {
      PUBLISH_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      // Everything a run publishes stays retained, so a client that reconnects late still recovers.
      HISTORY_MAX_MESSAGES: String(Math.max(1000, Math.ceil(spec.rate * spec.seconds) + 100)),
    },
    logDir,
    echo: false,
    log: () => {},
  });
  let measuredPushpin: MeasuredProcess[];
  try {
    measuredPushpin = pushpinProcesses(stack.pids.pushpin);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return {
    baseUrl: edge ? stack.urls.edge! : stack.urls.pushpinProxy,
    headers: edge ? {} : { 'pushpin-route': 'origin' },
    publishUrl: `${stack.urls.origin}/api/publish`,
    measured: [
      ...measuredPushpin,
      { name: 'origin', pid: stack.pids.origin },
      ...(stack.pids.edge !== undefined ? [{ name: 'edge (compute host)', pid: stack.pids.edge }] : []),
    ],
    server: 'origin',
    originMetricsUrl: `${stack.urls.origin}/metrics`,
    pushpinProfile: stack.pushpinProfile,
    logDir,
    stop: () => stack.stop(),
  };
}

async function startSocketIo(): Promise<SystemUnderTest> {
  const port = await findFreePort();
  const server: ManagedProcess = await startManagedProcess({
    name: 'socket.io',
    command: process.execPath,
    args: ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/bench/fanout/socketIoServer.ts'), '--port', String(port), '--token', BENCH_TOKEN],
    cwd: PROJECT_ROOT,
    ready: /listening on/,
    readyTimeoutMs: 30_000,
    echo: false,
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    baseUrl: url,
    headers: {},
    publishUrl: `${url}/publish`,
    measured: [{ name: 'socket.io server', pid: server.pid }],
    server: 'socket.io server',
    stop: () => server.stop(),
  };
}

/** Sum of every sample of a counter in Prometheus text. */
export function counterTotal(metrics: string, name: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return total;
}

async function originCounters(url: string | undefined): Promise<{ holdsOpened: number; websocketEvents: number } | undefined> {
  if (!url) return undefined;
  const text = await (await fetch(url, { headers: { Authorization: `Bearer ${BENCH_TOKEN}` } })).text();
  return {
    holdsOpened: counterTotal(text, 'origin_holds_opened_total'),
    websocketEvents: counterTotal(text, 'origin_websocket_events_total'),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const loadAverageBefore = loadAverage();
  assertDescriptors(spec);
  const kinds: ClientKind[] = spec.system === 'socketio' ? Array.from({ length: spec.subscribers }, () => 'socketio') : transportsFor(spec.transport as TransportChoice, spec.subscribers);
  const composition: Partial<Record<ClientKind, number>> = {};
  for (const kind of kinds) composition[kind] = (composition[kind] ?? 0) + 1;
  const processes = loadProcessesFor(spec.subscribers, spec.loadProcesses);

  const sut = spec.system === 'socketio' ? await startSocketIo() : await startOurs(spec);
  let load: LoadGenerator | undefined;
  let failed = true;
  try {
    const publisher = startPublisher({ url: sut.publishUrl, token: BENCH_TOKEN, channel: BENCH_CHANNEL });
    // The position every subscriber starts from: a message published before any of them connects.
    const since = await publisher.publishOne({ warmup: true });
    spec.log(`  connecting ${spec.subscribers} subscribers (${describe(composition)}) with ${processes} load processes...`);
    const connectUsage = startUsageWindow(sut.measured);
    load = startLoadGenerator(kinds, processes, {
      target: { baseUrl: sut.baseUrl, headers: sut.headers, channel: BENCH_CHANNEL, since },
      batchSize: 50,
      connectTimeoutMs: 30_000,
    });
    const connected = await load.connected;
    const connectSeconds = connected.connectMs / 1000;
    const connectCpu = Object.fromEntries(sumByName(connectUsage()).map((u) => [u.name, u.cpuSeconds]));
    spec.log(
      `  ${connected.subscribed} subscribed in ${connectSeconds.toFixed(1)} s (${(connected.subscribed / connectSeconds).toFixed(0)}/s)` +
        (connected.notSubscribed > 0 ? `, ${connected.notSubscribed} not subscribed within 30 s` : '') +
        `; CPU s: ${Object.entries(connectCpu).map(([name, s]) => `${name} ${s}`).join(', ')}`,
    );
    await sleep(1000); // the last subscriptions settle
    const measured = [...sut.measured, ...load.pids.map((pid) => ({ name: 'load generator', pid }))];
    const countersBefore = await originCounters(sut.originMetricsUrl);
    const usage = startUsageWindow(measured);
    const run = await publisher.publishAt(spec.rate, spec.seconds);
    const expected = run.ids.length * spec.subscribers;
    const drainUntil = performance.now() + spec.drainSeconds * 1000;
    while (load.delivered() < expected && performance.now() < drainUntil) await sleep(100);
    const processUsage = sumByName(usage());
    const countersAfter = await originCounters(sut.originMetricsUrl);
    const result = await load.finish(run.ids);
    const { count, latency } = result;
    const deliverySeconds = Math.max(0.001, (result.lastAt - run.startedAt) / 1000);
    const serverCpu = processUsage.find((p) => p.name === sut.server)?.cpuSeconds ?? Number.NaN;
    failed = false;
    return {
      system: spec.system,
      transport: spec.transport,
      via: spec.system === 'socketio' ? 'direct' : spec.via,
      ...(sut.pushpinProfile ? { pushpinProfile: sut.pushpinProfile } : {}),
      subscribers: spec.subscribers,
      rate: spec.rate,
      seconds: spec.seconds,
      composition,
      loadAverageBefore,
      loadAverageAfter: loadAverage(),
      connect: {
        seconds: round(connectSeconds, 2),
        perSecond: round(connected.subscribed / connectSeconds, 0),
        notSubscribed: connected.notSubscribed,
        failures: result.stats.connectFailures,
        cpuSeconds: connectCpu,
      },
      published: run.ids.length,
      publishFailures: run.failures,
      ...(run.failures > 0 ? { publishFailureReasons: run.failureReasons } : {}),
      expected,
      received: count.received,
      lost: count.lost,
      duplicates: count.duplicates,
      ...(spec.system === 'pushpin' ? { outOfOrder: count.outOfOrder, duplicatesDropped: result.stats.duplicatesDropped } : {}),
      subscribersWithLoss: count.subscribersWithLoss,
      reconnects: result.stats.reconnects,
      ...(Object.keys(result.recoveries).length > 0 ? { recoveries: result.recoveries } : {}),
      resets: result.stats.resets,
      deliveriesPerSecond: round(count.received / deliverySeconds, 0),
      latencyMs: {
        p50: round(quantileOf(latency, 0.5), 1),
        p90: round(quantileOf(latency, 0.9), 1),
        p99: round(quantileOf(latency, 0.99), 1),
        max: round(latency.max, 1),
        mean: round(latency.count > 0 ? latency.sum / latency.count : Number.NaN, 1),
      },
      processes: processUsage,
      serverCpuPer1000: round((serverCpu / Math.max(1, count.received)) * 1000, 4),
      ...(countersBefore && countersAfter
        ? {
            originDuringWindow: {
              holdsOpened: countersAfter.holdsOpened - countersBefore.holdsOpened,
              websocketEvents: countersAfter.websocketEvents - countersBefore.websocketEvents,
            },
          }
        : {}),
    };
  } finally {
    await load?.stop();
    await sut.stop();
    if (sut.logDir && !failed) rmSync(sut.logDir, { recursive: true, force: true });
    else if (sut.logDir) spec.log(`  logs of the failed run: ${sut.logDir}`);
  }
}

function describe(composition: Partial<Record<ClientKind, number>>): string {
  return Object.entries(composition)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
}
