// Guest workers: each runs one request at a time (the guest blocks its thread on hostcalls), so
// concurrency comes from several workers. The pool starts small and grows up to a limit while guests
// wait on I/O; requests beyond it wait in a bounded queue, each for a limited time (then a 503). A
// worker that dies is replaced; its request gets a 500. Workers idle for a while beyond the minimum
// are retired.
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { DEPARTED_REQUEST_SLOT, FIRE_AND_FORGET, SHARED_SLOTS, type DownstreamInfo, type GuestConfig, type HostReply, type WorkerCall, type WorkerEvent } from './hostProtocol.ts';
import type { RequestContext } from './requestContext.ts';
import { Status } from './hostcallAbi.ts';
import { replyBuffer, sendReply, type ReplyChannel } from './workerReplies.ts';
import { guestWorkerModule } from './guestWorkerBundle.ts';
import { CpuHeadroom } from './cpuHeadroom.ts';

/** Without a guest waiting on I/O, how long a request waits for a busy pool before it grows. */
const GROW_AFTER_MS = 50;
/** A guest blocked on I/O this long counts as parked (a fast backend answers sooner, even on a busy CPU). */
const PARKED_AFTER_MS = 50;
/**
 * On a saturated machine a short wait is as likely a busy main thread (or a backend starved of CPU) as
 * real I/O, and more threads would only compete for the same cores: there, a guest counts as parked
 * only after this long. Fast backends on a busy machine answered in 80-150 ms here; a slow backend
 * still gets its spare workers, a little later (booting them keeps the machine busy too).
 */
const PARKED_WHEN_SATURATED_MS = 250;
/** A queue whose oldest request waited this long is backed up: the newest request goes first. */
const BACKLOG_AFTER_MS = 50;
/** How long a guest may run on after its client went away before its worker is stopped. */
const DEPARTED_GRACE_MS = 5_000;
/** Idle workers beyond the minimum are retired after this long. */
const RETIRE_IDLE_AFTER_MS = 30_000;

interface PooledWorker {
  worker: Worker;
  replies: ReplyChannel;
  shared: Int32Array;
  busyWith: RequestContext | undefined;
  /** It has a fresh instance prepared and nothing to do: only such a worker gets a request. */
  available: boolean;
  /** When it became available (for retiring idle workers). */
  idleSince: number;
  /** Since when its guest is blocked in a hostcall the main thread has not answered yet (I/O). */
  waitingSince: number | undefined;
  ready: Promise<void>;
}

interface QueuedRequest {
  context: RequestContext;
  downstream: DownstreamInfo;
  queuedAt: number;
  timer: NodeJS.Timeout;
}

export interface WorkerPoolOptions {
  config: Omit<GuestConfig, 'shared' | 'replyBuffer'>;
  minWorkers: number;
  maxWorkers: number;
  /** Requests that may wait for a worker at once; more are answered 503. */
  queueLimit: number;
  /** How long a request may wait for a worker before it is answered 503. */
  queueTimeoutMs: number;
  log: (line: string) => void;
}

export class WorkerPool {
  private workers: PooledWorker[] = [];
  private queue: QueuedRequest[] = [];
  private growTimer: NodeJS.Timeout | undefined;
  private readonly retireTimer: NodeJS.Timeout;
  private readonly contexts = new Map<number, RequestContext>();
  private readonly unsupportedLogged = new Set<string>();
  /** Booting a worker takes a core for a while: at most one per core at once. */
  private readonly maxSpawning = Math.max(1, availableParallelism());
  private readonly headroom = new CpuHeadroom();
  private spawning = 0;
  private stopping = false;
  private readonly workerModule: URL;

  constructor(private readonly options: WorkerPoolOptions) {
    this.workerModule = guestWorkerModule(options.log);
    this.retireTimer = setInterval(() => this.retireIdle(), RETIRE_IDLE_AFTER_MS / 3);
    this.retireTimer.unref();
  }

  async start(): Promise<void> {
    const started = Array.from({ length: this.options.minWorkers }, () => this.spawn());
    await Promise.all(started.map((w) => w.ready));
  }

  private spawn(): PooledWorker {
    const { port1, port2 } = new MessageChannel();
    const shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
    const replies: ReplyChannel = { port: port1, signal: shared, buffer: replyBuffer() };
    const config: GuestConfig = { ...this.options.config, shared, replyBuffer: replies.buffer };
    const worker = new Worker(this.workerModule, {
      workerData: { config, replyPort: port2 },
      transferList: [port2],
      execArgv: [
        '--enable-source-maps',
        ...(process.env.COMPUTE_HOST_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.COMPUTE_HOST_CPU_PROF}`] : []),
      ],
      stdout: false,
      stderr: false,
    });
    let markReady!: () => void;
    let markFailed!: (error: Error) => void;
    const pooled: PooledWorker = {
      worker,
      replies,
      shared,
      busyWith: undefined,
      available: false,
      idleSince: 0,
      waitingSince: undefined,
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
        context.finish(context.departed ? undefined : `the guest worker exited (code ${code})`);
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
        pooled.idleSince = performance.now();
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
        if (context && event.calls) for (const call of event.calls) this.apply(pooled, context, call);
        context?.mark('finished');
        context?.finish(event.trap);
        pooled.busyWith = undefined;
        pooled.waitingSince = undefined;
        return;
      }
      case 'calls': {
        const context = this.contexts.get(event.requestId);
        for (const call of event.calls) {
          if (context) this.apply(pooled, context, call);
          else if (!FIRE_AND_FORGET.has(call.op)) sendReply(pooled.replies, { status: Status.BADF });
        }
        return;
      }
    }
  }

  /** Runs one hostcall of a guest; answers it when the guest waits for it. */
  private apply(pooled: PooledWorker, context: RequestContext, call: WorkerCall): void {
    const blocking = !FIRE_AND_FORGET.has(call.op);
    const reply = (message: HostReply): void => {
      if (!blocking) return;
      pooled.waitingSince = undefined;
      sendReply(pooled.replies, message);
    };
    let result: HostReply | Promise<HostReply>;
    try {
      result = context.handle(call);
    } catch (error) {
      this.options.log(`hostcall ${call.op} failed: ${(error as Error).stack ?? String(error)}`);
      reply({ status: Status.ERROR });
      return;
    }
    if (result instanceof Promise) {
      // The guest now waits on I/O: its worker holds no CPU, so the pool may grow past it.
      if (blocking) {
        pooled.waitingSince = performance.now();
        this.grow();
      }
      result.then(reply, (error: unknown) => {
        this.options.log(`hostcall ${call.op} failed: ${(error as Error).stack ?? String(error)}`);
        reply({ status: Status.ERROR });
      });
    } else reply(result);
  }

  /** Runs the request on a worker now, or queues it (bounded, timed); a full queue answers 503. */
  run(context: RequestContext, downstream: DownstreamInfo): void {
    const { queueLimit, queueTimeoutMs } = this.options;
    if (this.queue.length >= queueLimit && !this.workers.some((w) => w.available)) {
      context.refuse(
        503,
        `The local Compute host is overloaded: the queue of requests waiting for a guest worker is full ` +
          `(${queueLimit}; COMPUTE_HOST_QUEUE_LIMIT). Try again later.`,
      );
      return;
    }
    const job: QueuedRequest = {
      context,
      downstream,
      queuedAt: performance.now(),
      timer: setTimeout(() => {
        if (!this.unqueue(job)) return;
        context.refuse(
          503,
          `The local Compute host waited ${queueTimeoutMs / 1000} s for a free guest worker (COMPUTE_HOST_QUEUE_TIMEOUT_MS); ` +
            `all ${this.workers.length} are busy, e.g. waiting on a slow backend.`,
        );
      }, queueTimeoutMs),
    };
    this.queue.push(job);
    this.pump();
  }

  /** The client of a request went away: drop it from the queue, or tell its guest and bound its run. */
  clientDeparted(context: RequestContext): void {
    if (context.finished) return;
    const queued = this.queue.find((job) => job.context === context);
    if (queued) {
      this.unqueue(queued);
      context.refuse(499, 'the client went away while the request waited for a guest worker');
      return;
    }
    const pooled = this.workers.find((w) => w.busyWith === context);
    if (!pooled) return;
    context.clientDeparted();
    // Streaming writes of this request now fail in the guest, as they do in Viceroy.
    Atomics.store(pooled.shared, DEPARTED_REQUEST_SLOT, context.id);
    setTimeout(() => {
      if (pooled.busyWith !== context || context.finished) return;
      this.options.log(
        `request ${context.id}: the guest still ran ${DEPARTED_GRACE_MS / 1000} s after its client went away; its worker is stopped`,
      );
      void pooled.worker.terminate();
    }, DEPARTED_GRACE_MS).unref();
  }

  private unqueue(job: QueuedRequest): boolean {
    const index = this.queue.indexOf(job);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    clearTimeout(job.timer);
    return true;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const idle = this.workers.find((w) => w.available);
      if (!idle) break;
      // Oldest first, until the queue backs up; then newest first, so that requests arriving behind a
      // burst (say, to a slow backend) are not all made to wait for the whole burst to get a worker.
      const backedUp = performance.now() - this.queue[0]!.queuedAt >= BACKLOG_AFTER_MS;
      const job = backedUp ? this.queue.pop()! : this.queue.shift()!;
      clearTimeout(job.timer);
      idle.available = false;
      idle.busyWith = job.context;
      this.contexts.set(job.context.id, job.context);
      job.context.mark('dispatched');
      idle.worker.postMessage({ kind: 'run', downstream: job.downstream });
    }
    this.grow();
  }

  /**
   * More workers while guests wait on I/O (a slow backend, a slow client): a guest parked in a
   * hostcall holds its thread but no CPU, so then the pool boots what the queue needs plus one spare,
   * so the next request finds a worker ready. A wait shorter than PARKED_AFTER_MS (a fast backend)
   * does not count, nor one shorter than PARKED_WHEN_SATURATED_MS while no core is idle. When every
   * busy guest is computing, more threads would not help on a busy CPU: then one worker at a time,
   * once a request waited GROW_AFTER_MS, and only while a core is idle (without that check a CPU-bound
   * burst grew the pool to its maximum, each new worker slowing the others down).
   */
  private grow(): void {
    if (this.stopping || this.workers.length >= this.options.maxWorkers) return;
    const now = performance.now();
    const idle = this.workers.filter((w) => w.available).length;
    const busyWaiting = this.workers.filter((w) => w.busyWith && w.waitingSince !== undefined);
    const longestWait = busyWaiting.reduce((longest, w) => Math.max(longest, now - w.waitingSince!), 0);
    const oldestWait = this.queue[0] ? now - this.queue[0].queuedAt : 0;
    const wantsMore = longestWait >= PARKED_AFTER_MS || (this.queue.length > 0 && oldestWait >= GROW_AFTER_MS);
    // Reading the CPU counters costs a little: only when growing is in question.
    const spare = wantsMore ? this.headroom.hasSpare() : true;
    const parked = longestWait >= (spare ? PARKED_AFTER_MS : PARKED_WHEN_SATURATED_MS);
    let wanted = 0;
    if (parked) wanted = this.queue.length - idle + 1 - this.spawning;
    else if (spare && this.queue.length > 0 && oldestWait >= GROW_AFTER_MS && this.spawning === 0) wanted = 1;
    if (wanted <= 0) {
      // Look again once a waiting guest counts as parked, or a queued request waited long enough.
      if ((this.queue.length > 0 || busyWaiting.length > 0) && !parked && this.spawning === 0) {
        this.growTimer ??= setTimeout(() => {
          this.growTimer = undefined;
          this.pump();
        }, busyWaiting.length > 0 || oldestWait >= GROW_AFTER_MS ? PARKED_AFTER_MS : Math.max(1, GROW_AFTER_MS - oldestWait));
      }
      return;
    }
    while (wanted-- > 0 && this.spawning < this.maxSpawning && this.workers.length < this.options.maxWorkers) {
      this.spawning++;
      const booted = (): void => {
        this.spawning--;
        this.pump();
      };
      this.spawn().ready.then(booted, booted);
    }
  }

  private retireIdle(): void {
    if (this.queue.length > 0) return;
    const now = performance.now();
    let excess = this.workers.length - this.options.minWorkers;
    for (const pooled of this.workers) {
      if (excess <= 0) return;
      if (pooled.available && now - pooled.idleSince > RETIRE_IDLE_AFTER_MS) {
        pooled.available = false;
        excess--;
        void pooled.worker.terminate();
      }
    }
  }

  get stats(): { workers: number; busy: number; queued: number } {
    return { workers: this.workers.length, busy: this.workers.filter((w) => w.busyWith).length, queued: this.queue.length };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.growTimer);
    clearInterval(this.retireTimer);
    for (const job of this.queue.splice(0)) clearTimeout(job.timer);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers = [];
  }
}
