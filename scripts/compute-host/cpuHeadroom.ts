// Whether the machine has CPU to spare, from the kernel's per-CPU counters (os.cpus(), every OS
// Node runs on). The worker pool asks before it boots more workers: when every core is busy (guests,
// the main thread, a load generator, other programs alike), another thread only adds switching and
// ~20 MB, and a guest that seems to wait on I/O is often just waiting for a busy main thread.
import { cpus } from 'node:os';

/** Below this share of idle CPU time over the last window, the machine counts as saturated. */
export const SPARE_IDLE_SHARE = 0.1;
/** A shorter window is noise; a longer one reacts late. */
const WINDOW_MS = 250;

/** Cumulative CPU time of all cores, in ms: idle and in total. */
export interface CpuSample {
  idle: number;
  total: number;
}

function sample(): CpuSample {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

export class CpuHeadroom {
  private last: CpuSample;
  private lastAt: number;
  private idleShare = 1;

  /** `read` and `clock` are replaceable for tests only. */
  constructor(
    private readonly read: () => CpuSample = sample,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.last = read();
    this.lastAt = clock();
  }

  /** True while at least SPARE_IDLE_SHARE of the machine's CPU time was idle over the last window or so. */
  hasSpare(): boolean {
    // The counters are read at most once a window: the pool asks on every dispatch.
    const at = this.clock();
    if (at - this.lastAt >= WINDOW_MS) {
      const now = this.read();
      const total = now.total - this.last.total;
      // The counters tick in 10 ms steps: an empty window says nothing new.
      if (total > 0) this.idleShare = (now.idle - this.last.idle) / total;
      this.last = now;
      this.lastAt = at;
    }
    return this.idleShare >= SPARE_IDLE_SHARE;
  }
}
