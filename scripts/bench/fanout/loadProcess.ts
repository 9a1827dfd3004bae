// A load generator process: holds its share of the benchmark's subscribers, so the clients' CPU is
// apart from (and measured beside) the systems under test. Started by loadProcesses.ts with an IPC
// channel; it exits when that channel closes, so it never outlives the benchmark (also when the
// benchmark is killed outright).
//
// parent -> child: start (what to connect), finish (the ids the publisher was told were stored), stop
// child -> parent: connected (with connect figures), progress (deliveries so far), result
import { startClientSubscribers } from './clientSubscribers.ts';
import { newTally, type DeliveryTally, type LedgerCount } from './deliveryLedger.ts';
import type { LatencyHistogram } from './latencyHistogram.ts';
import { startSocketIoSubscribers } from './socketIoSubscribers.ts';
import type { ClientKind, ClientTarget, GroupStats, SubscriberGroup } from './subscriberGroup.ts';

export interface LoadPlan {
  /** Every one `socketio`, or none. */
  kinds: ClientKind[];
  target: ClientTarget;
  /** Subscribers started at once; the next batch starts when the previous one is subscribed. */
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
  stats: GroupStats;
  /** Why our clients connected again, by the client's recovery reason. */
  recoveries: Record<string, number>;
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

let group: SubscriberGroup | undefined;
let tally: DeliveryTally = newTally();
let progress: NodeJS.Timeout | undefined;

function subscribedWithin(ready: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([ready.then(() => true, () => false), timeout]).finally(() => clearTimeout(timer));
}

async function connectAll(plan: LoadPlan): Promise<void> {
  const socketIo = plan.kinds.filter((kind) => kind === 'socketio').length;
  if (socketIo > 0 && socketIo < plan.kinds.length) throw new Error('a load process holds Socket.IO clients or ours, not both');
  group = socketIo > 0 ? startSocketIoSubscribers(plan.target, tally) : startClientSubscribers(plan.target, tally);
  const started = performance.now();
  let notSubscribed = 0;
  for (let i = 0; i < plan.kinds.length; i += plan.batchSize) {
    const batch = plan.kinds.slice(i, i + plan.batchSize).map((kind) => group!.add(kind));
    const outcomes = await Promise.all(batch.map((ready) => subscribedWithin(ready, plan.connectTimeoutMs)));
    notSubscribed += outcomes.filter((ok) => !ok).length;
  }
  send({ type: 'connected', subscribed: plan.kinds.length - notSubscribed, notSubscribed, connectMs: performance.now() - started });
  progress = setInterval(() => send({ type: 'progress', delivered: tally.latency.count }), PROGRESS_MS);
}

function finish(published: string[]): void {
  clearInterval(progress);
  if (!group) throw new Error('finish before start');
  const result: LoadResult = {
    count: group.count(published),
    latency: tally.latency,
    firstAt: tally.firstAt,
    lastAt: tally.lastAt,
    stats: group.stats(),
    recoveries: group.recoveries(),
  };
  send({ type: 'result', result });
}

function stopAll(): void {
  clearInterval(progress);
  group?.stop();
  group = undefined;
  tally = newTally();
}

process.on('message', (message: ToLoadProcess) => {
  if (message.type === 'start') {
    connectAll(message.plan).catch((error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }));
  } else if (message.type === 'finish') {
    try {
      finish(message.published);
    } catch (error) {
      send({ type: 'failed', message: (error as Error).stack ?? String(error) });
    }
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
