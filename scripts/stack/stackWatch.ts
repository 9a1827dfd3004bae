// `npm start -- --watch`: a change in edge/ rebuilds bin/main.wasm and then restarts the edge (the
// local Compute host); a change in origin/ restarts the origin. Bursts of changes cost one rebuild or
// restart (sourceWatch.ts); changes that come while one runs are picked up by one more afterwards.
// A failed build leaves the running edge alone; an origin or edge that does not start again is
// reported and started again on the next change. Pushpin keeps running throughout, so clients held
// by it stay connected while the origin restarts; clients of the edge reconnect (see
// docs/local-development.md, "Watch mode").
import { join } from 'node:path';
import type { EdgeBuildResult } from './edgeRebuild.ts';
import type { LocalStack, RestartableChild } from './localStack.ts';
import { watchSources, type SourceWatch } from './sourceWatch.ts';

export interface StackWatchOptions {
  stack: LocalStack;
  /** The checkout whose edge/ and origin/ are watched. */
  root: string;
  /** Builds bin/main.wasm (edgeRebuild.ts). */
  rebuildEdge(): Promise<EdgeBuildResult>;
  /** Whether the origin keeps its history in Redis (REDIS_URL), for what a restart means to clients. */
  redisHistory: boolean;
  say(line: string): void;
  complain(line: string): void;
  quietMs?: number;
}

export interface StackWatch {
  /** Resolves once both folders are watched. */
  ready: Promise<void>;
  /** Resolves when nothing is building or restarting (for tests and a clean shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const listed = (files: string[]): string => (files.length <= 3 ? files.join(', ') : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Runs `work` for each burst, one at a time; bursts that come meanwhile are merged into the next run. */
function serialised(work: (files: string[]) => Promise<void>): { push(files: string[]): void; idle(): Promise<void> } {
  let waiting: string[] = [];
  let running: Promise<void> | undefined;
  const run = async (): Promise<void> => {
    while (waiting.length > 0) {
      const files = waiting;
      waiting = [];
      await work(files);
    }
    running = undefined;
  };
  return {
    push(files) {
      for (const file of files) if (!waiting.includes(file)) waiting.push(file);
      running ??= run();
    },
    idle: async () => {
      while (running) await running;
    },
  };
}

export function watchStack(options: StackWatchOptions): StackWatch {
  const { stack, say, complain } = options;
  let closed = false;

  const restart = async (name: RestartableChild, what: string): Promise<boolean> => {
    const started = Date.now();
    try {
      const pid = await stack.restart(name);
      say(`watch: ${name} restarted (pid ${pid}) in ${seconds(Date.now() - started)}${what}`);
      return true;
    } catch (error) {
      if (closed) return false;
      complain(`watch: the ${name} did not start again; it starts on the next change.\n${(error as Error).message}`);
      return false;
    }
  };

  const origin = serialised(async (files) => {
    if (closed) return;
    say(`watch: origin/ changed (${listed(files)}); restarting the origin...`);
    const history = options.redisHistory
      ? '; its history is in Redis and carries on'
      : '; its history was in memory and starts over: clients resuming from before are told (reset, reason "restarted")';
    await restart('origin', history);
  });

  const edge = serialised(async (files) => {
    if (closed) return;
    say(`watch: edge/ changed (${listed(files)}); rebuilding bin/main.wasm...`);
    const build = await options.rebuildEdge();
    if (closed) return;
    if (!build.ok) {
      complain(
        `watch: npm run build failed (${build.status}) after ${seconds(build.ms)}; the edge keeps running the previous bin/main.wasm.\n${build.output}`,
      );
      return;
    }
    say(`watch: built bin/main.wasm in ${seconds(build.ms)}; restarting the edge...`);
    await restart('edge', ', serving the new bin/main.wasm');
  });

  const onError = (folder: string) => (error: Error) => complain(`watch: watching ${folder} failed: ${error.message}`);
  const watches: SourceWatch[] = [
    watchSources(join(options.root, 'origin'), (files) => origin.push(files), { onError: onError('origin/'), ...(options.quietMs ? { quietMs: options.quietMs } : {}) }),
  ];
  if (stack.urls.edge) {
    watches.push(
      watchSources(join(options.root, 'edge'), (files) => edge.push(files), { onError: onError('edge/'), ...(options.quietMs ? { quietMs: options.quietMs } : {}) }),
    );
  }
  return {
    ready: Promise.all(watches.map((w) => w.ready)).then(() => undefined),
    idle: async () => {
      await Promise.all([origin.idle(), edge.idle()]);
    },
    async close() {
      closed = true;
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
