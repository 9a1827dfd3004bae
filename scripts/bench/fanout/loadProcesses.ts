// The parent's side of the load generator: K child processes (loadProcess.ts), each with every K-th
// subscriber, started and stopped together, their results merged.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../shared/projectRoot.ts';
import { emptyHistogram, merge } from './latencyHistogram.ts';
import type { FromLoadProcess, LoadPlan, LoadResult, ToLoadProcess } from './loadProcess.ts';
import { emptyCount } from './deliveryLedger.ts';
import { emptyStats, type ClientKind } from './subscriberGroup.ts';

const ENTRY = fileURLToPath(new URL('./loadProcess.ts', import.meta.url));

export interface LoadGenerator {
  pids: number[];
  /** Resolves once every child has connected its share (or timed out trying). */
  connected: Promise<{ subscribed: number; notSubscribed: number; connectMs: number }>;
  /** Unique deliveries counted so far, all children. */
  delivered(): number;
  /** Asks every child for its tally against the published ids. */
  finish(published: string[]): Promise<LoadResult>;
  /** Closes every client and ends every child; resolves when all exited. */
  stop(): Promise<void>;
}

export function startLoadGenerator(
  kinds: ClientKind[],
  processes: number,
  plan: Omit<LoadPlan, 'kinds'>,
): LoadGenerator {
  const children: ChildProcess[] = [];
  const delivered = new Map<number, number>();
  const connectedReports: Array<Promise<{ subscribed: number; notSubscribed: number; connectMs: number }>> = [];
  const results: Array<(result: LoadResult) => void> = [];
  let failure: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_resolve, reject) => (failure = reject));
  failed.catch(() => {});

  for (let k = 0; k < processes; k++) {
    const share = kinds.filter((_kind, i) => i % processes === k);
    const child = fork(ENTRY, [], {
      // The TypeScript loader this benchmark runs under; nothing else from the parent's node flags.
      execArgv: ['--import', 'tsx'],
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    children.push(child);
    connectedReports.push(
      new Promise((resolve) => {
        child.on('message', (message: FromLoadProcess) => {
          if (message.type === 'connected') resolve(message);
          else if (message.type === 'progress') delivered.set(k, message.delivered);
          else if (message.type === 'result') results[k]?.(message.result);
          else if (message.type === 'failed') failure?.(new Error(`load process ${k}: ${message.message}`));
        });
      }),
    );
    child.once('exit', (code, signal) => {
      if (!stopping) failure?.(new Error(`load process ${k} exited (${code ?? signal}) before the run ended`));
    });
    const start: ToLoadProcess = { type: 'start', plan: { ...plan, kinds: share } };
    child.send(start);
  }
  let stopping = false;

  const connected = Promise.race([
    Promise.all(connectedReports).then((reports) => ({
      subscribed: reports.reduce((n, r) => n + r.subscribed, 0),
      notSubscribed: reports.reduce((n, r) => n + r.notSubscribed, 0),
      connectMs: Math.max(...reports.map((r) => r.connectMs)),
    })),
    failed,
  ]);

  return {
    pids: children.map((c) => c.pid!).filter((pid) => pid !== undefined),
    connected,
    delivered: () => [...delivered.values()].reduce((a, b) => a + b, 0),
    async finish(published) {
      const parts = await Promise.race([
        Promise.all(
          children.map(
            (child, k) =>
              new Promise<LoadResult>((resolve) => {
                results[k] = resolve;
                const message: ToLoadProcess = { type: 'finish', published };
                child.send(message);
              }),
          ),
        ),
        failed,
      ]);
      const latency = emptyHistogram();
      const total: LoadResult = {
        count: emptyCount(),
        latency,
        firstAt: Infinity,
        lastAt: -Infinity,
        stats: emptyStats(),
        recoveries: {},
      };
      for (const part of parts) {
        merge(latency, part.latency);
        total.firstAt = Math.min(total.firstAt, part.firstAt);
        total.lastAt = Math.max(total.lastAt, part.lastAt);
        for (const key of Object.keys(total.count) as Array<keyof LoadResult['count']>) total.count[key] += part.count[key];
        for (const key of Object.keys(total.stats) as Array<keyof LoadResult['stats']>) total.stats[key] += part.stats[key];
        for (const [reason, n] of Object.entries(part.recoveries)) total.recoveries[reason] = (total.recoveries[reason] ?? 0) + n;
      }
      return total;
    },
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              if (child.connected) child.send({ type: 'stop' } satisfies ToLoadProcess);
              else child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
