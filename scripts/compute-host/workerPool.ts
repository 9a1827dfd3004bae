// Guest workers: each runs one request at a time (the guest blocks its thread on hostcalls), so
// concurrency comes from several workers. The pool starts small, grows up to a limit under load and
// queues beyond it. A worker that dies is replaced; its request gets a 500.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { FIRE_AND_FORGET, type DownstreamInfo, type GuestConfig, type HostReply, type WorkerEvent } from './hostProtocol.ts';
import type { RequestContext } from './requestContext.ts';
import { Status } from './hostcallAbi.ts';
import { sendReply } from './workerReplies.ts';

/** How long a request may wait for a busy pool before another worker is started. */
const GROW_AFTER_MS = 50;

const WORKER_URL = new URL('./guestWorkerEntry.mjs', import.meta.url);

interface PooledWorker {
  worker: Worker;
  replyPort: MessagePort;
  signal: Int32Array;
  busyWith: RequestContext | undefined;
  /** It has a fresh instance prepared and nothing to do: only such a worker gets a request. */
  available: boolean;
  ready: Promise<void>;
}

export interface WorkerPoolOptions {
  config: Omit<GuestConfig, 'signal'>;
  minWorkers: number;
  maxWorkers: number;
  log: (line: string) => void;
}

export class WorkerPool {
  private workers: PooledWorker[] = [];
  private queue: Array<{ context: RequestContext; downstream: DownstreamInfo; queuedAt: number }> = [];
  private growTimer: NodeJS.Timeout | undefined;
  private readonly contexts = new Map<number, RequestContext>();
  private readonly unsupportedLogged = new Set<string>();
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  async start(): Promise<void> {
    const started = Array.from({ length: this.options.minWorkers }, () => this.spawn());
    await Promise.all(started.map((w) => w.ready));
  }

  private spawn(): PooledWorker {
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const config: GuestConfig = { ...this.options.config, signal };
    const worker = new Worker(WORKER_URL, {
      workerData: { config, replyPort: port2 },
      transferList: [port2],
      execArgv: process.env.COMPUTE_HOST_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.COMPUTE_HOST_CPU_PROF}`] : [],
      stdout: false,
      stderr: false,
    });
    let markReady!: () => void;
    let markFailed!: (error: Error) => void;
    const pooled: PooledWorker = {
      worker,
      replyPort: port1,
      signal,
      busyWith: undefined,
      available: false,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        markFailed = reject;
      }),
    };
    worker.on('message', (event: WorkerEvent) => this.onEvent(pooled, event, markReady));
    worker.on('error', (error) => {
      this.options.log(`guest worker failed: ${error.stack ?? error.message}`);
      markFailed(error);
    });
    worker.on('exit', (code) => {
      this.workers = this.workers.filter((w) => w !== pooled);
      pooled.available = false;
      const context = pooled.busyWith;
      if (context && !context.finished) {
        this.contexts.delete(context.id);
        context.finish(`the guest worker exited (code ${code})`);
      }
      if (!this.stopping) {
        if (this.workers.length < this.options.minWorkers) this.spawn();
        this.pump();
      }
    });
    this.workers.push(pooled);
    return pooled;
  }

  private onEvent(pooled: PooledWorker, event: WorkerEvent, markReady: () => void): void {
    switch (event.kind) {
      case 'ready':
        // Sent at start and after each request, once the next instance is prepared.
        pooled.available = true;
        markReady();
        this.pump();
        return;
      case 'unsupported':
        if (!this.unsupportedLogged.has(event.name)) {
          this.unsupportedLogged.add(event.name);
          this.options.log(`hostcall not supported by this host: ${event.name}`);
        }
        return;
      case 'finished': {
        const context = this.contexts.get(event.requestId);
        this.contexts.delete(event.requestId);
        context?.mark('finished');
        context?.finish(event.trap);
        pooled.busyWith = undefined;
        return;
      }
      case 'call': {
        const context = this.contexts.get(event.requestId);
        const reply = (message: HostReply): void => {
          if (FIRE_AND_FORGET.has(event.call.op)) return;
          sendReply(pooled.replyPort, pooled.signal, message);
        };
        if (!context) {
          reply({ status: Status.BADF });
          return;
        }
        let result: HostReply | Promise<HostReply>;
        try {
          result = context.handle(event.call);
        } catch (error) {
          this.options.log(`hostcall ${event.call.op} failed: ${(error as Error).stack ?? String(error)}`);
          reply({ status: Status.ERROR });
          return;
        }
        if (result instanceof Promise) {
          result.then(reply, (error: unknown) => {
            this.options.log(`hostcall ${event.call.op} failed: ${(error as Error).stack ?? String(error)}`);
            reply({ status: Status.ERROR });
          });
        } else reply(result);
        return;
      }
    }
  }

  run(context: RequestContext, downstream: DownstreamInfo): void {
    this.queue.push({ context, downstream, queuedAt: performance.now() });
    this.pump();
  }

  private spawning = 0;

  private pump(): void {
    while (this.queue.length > 0) {
      const idle = this.workers.find((w) => w.available);
      if (!idle) break;
      const job = this.queue.shift()!;
      idle.available = false;
      idle.busyWith = job.context;
      this.contexts.set(job.context.id, job.context);
      job.context.mark('dispatched');
      idle.worker.postMessage({ kind: 'run', downstream: job.downstream });
    }
    // Grow only when requests wait because every worker holds a guest (one blocked on a slow backend,
    // or streaming), one worker at a time: booting one takes a core for a while, and on a busy CPU
    // more workers would not help. Requests keep going to whichever worker is ready first.
    const oldest = this.queue[0];
    if (!oldest || this.spawning > 0 || this.workers.length >= this.options.maxWorkers) return;
    if (this.workers.some((w) => w.available || !w.busyWith)) return;
    const waited = performance.now() - oldest.queuedAt;
    if (waited < GROW_AFTER_MS) {
      this.growTimer ??= setTimeout(() => {
        this.growTimer = undefined;
        this.pump();
      }, GROW_AFTER_MS - waited);
      return;
    }
    this.spawning++;
    const booted = (): void => {
      this.spawning--;
      this.pump();
    };
    this.spawn().ready.then(booted, booted);
  }

  get stats(): { workers: number; busy: number; queued: number } {
    return { workers: this.workers.length, busy: this.workers.filter((w) => w.busyWith).length, queued: this.queue.length };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.growTimer);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers = [];
  }
}
