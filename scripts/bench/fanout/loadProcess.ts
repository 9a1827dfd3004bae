// A load generator process: holds its share of the benchmark's subscribers, so the clients' CPU is
// apart from (and measured beside) the systems under test. Started by loadProcesses.ts with an IPC
// channel; it exits when that channel closes, so it never outlives the benchmark (also when the
// benchmark is killed outright).
//
// parent -> child: start (what to connect), finish (the ids the publisher was told were stored), stop
// child -> parent: connected (with connect figures), progress (deliveries so far), result
import { Agent } from 'node:http';
import { countAgainst, newLedger, newTally, type DeliveryTally, type LedgerCount } from './deliveryLedger.ts';
import { startSubscriber, type ClientKind, type ClientStats, type ClientTarget, type Subscriber } from './subscriberClients.ts';
import type { LatencyHistogram } from './latencyHistogram.ts';

export interface LoadPlan {
  kinds: ClientKind[];
  target: Omit<ClientTarget, 'pollAgent' | 'streamAgent'>;
  /** Connections opened at once; the next batch starts when the previous one is subscribed. */
  batchSize: number;
  /** A subscriber not subscribed after this long counts as failed to connect (it keeps trying). */
  connectTimeoutMs: number;
}

export type ToLoadProcess = { type: 'start'; plan: LoadPlan } | { type: 'finish'; published: string[] } | { type: 'stop' };

export interface LoadResult {
  count: LedgerCount;
  latency: LatencyHistogram;
  firstAt: number;
  lastAt: number;
  stats: ClientStats;
}

export type FromLoadProcess =
  | { type: 'connected'; subscribed: number; notSubscribed: number; connectMs: number }
  | { type: 'progress'; delivered: number }
  | { type: 'result'; result: LoadResult }
  | { type: 'failed'; message: string };

const PROGRESS_MS = 250;

function send(message: FromLoadProcess): void {
  process.send?.(message);
}

const subscribers: Subscriber[] = [];
let tally: DeliveryTally = newTally();
let progress: NodeJS.Timeout | undefined;

async function connectAll(plan: LoadPlan): Promise<void> {
  const target: ClientTarget = {
    ...plan.target,
    pollAgent: new Agent({ keepAlive: true, maxSockets: Infinity }),
    streamAgent: new Agent({ keepAlive: false, maxSockets: Infinity }),
  };
  const started = performance.now();
  let notSubscribed = 0;
  for (let i = 0; i < plan.kinds.length; i += plan.batchSize) {
    const batch = plan.kinds.slice(i, i + plan.batchSize).map((kind) => startSubscriber(kind, target, newLedger(plan.target.since), tally));
    subscribers.push(...batch);
    const outcomes = await Promise.all(
      batch.map((s) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), plan.connectTimeoutMs)));
        return Promise.race([s.ready.then(() => true), timeout]).finally(() => clearTimeout(timer));
      }),
    );
    notSubscribed += outcomes.filter((ok) => !ok).length;
  }
  send({ type: 'connected', subscribed: subscribers.length - notSubscribed, notSubscribed, connectMs: performance.now() - started });
  progress = setInterval(() => send({ type: 'progress', delivered: tally.latency.count }), PROGRESS_MS);
}

function finish(published: string[]): void {
  clearInterval(progress);
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  for (const s of subscribers) {
    stats.reconnects += s.stats.reconnects;
    stats.connectFailures += s.stats.connectFailures;
    stats.resets += s.stats.resets;
  }
  const count = countAgainst(
    subscribers.map((s) => s.ledger),
    published,
  );
  send({ type: 'result', result: { count, latency: tally.latency, firstAt: tally.firstAt, lastAt: tally.lastAt, stats } });
}

function stopAll(): void {
  clearInterval(progress);
  for (const s of subscribers) s.stop();
  subscribers.length = 0;
  tally = newTally();
}

process.on('message', (message: ToLoadProcess) => {
  if (message.type === 'start') {
    connectAll(message.plan).catch((error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }));
  } else if (message.type === 'finish') {
    finish(message.published);
  } else if (message.type === 'stop') {
    stopAll();
    process.disconnect();
    // Open sockets are gone with the process; exit now rather than wait for every close handshake.
    setTimeout(() => process.exit(0), 200).unref();
  }
});

// The benchmark is gone (finished, crashed or killed): so are we.
process.on('disconnect', () => process.exit(0));
if (!process.connected) {
  console.error('loadProcess.ts is started by the fanout benchmark (it needs an IPC channel)');
  process.exit(2);
}
