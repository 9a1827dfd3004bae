// The origin's presence: the store (memory or Redis) with its sweep, and the changes it reports handed
// to whoever announces them (member events to subscribers, webhooks). Whoever made a change reports
// it, so each change is announced once across origins; a listener that fails never fails the caller.
import type { LeaseRelease, LeaseTouch, PresenceChange, PresencePage, PresenceRead, PresenceStore } from './presenceStore.ts';

/** How often expired leases are claimed. Part of every leave bound. */
export const SWEEP_INTERVAL_MS = 1000;
/** Channels one sweep visits at most (the next sweep takes the rest). */
export const SWEEP_MAX_CHANNELS = 1000;

export type PresenceListener = (changes: PresenceChange[]) => void;

export interface PresenceTracker {
  /** Takes or renews leases for `ttlMs`; answers the touches refused (their channel is full). */
  touch(touches: LeaseTouch[], ttlMs: number): Promise<LeaseTouch[]>;
  release(releases: LeaseRelease[]): Promise<void>;
  read(channel: string, page: PresencePage): Promise<Omit<PresenceRead, 'changes'>>;
  /** Claims expired leases now (the timer does it every SWEEP_INTERVAL_MS). */
  sweep(): Promise<void>;
  /** Adds a listener for every change reported from now on. */
  listen(listener: PresenceListener): void;
  /** Starts the sweep timer (unref'd: it never holds the process). */
  start(): void;
  stop(): void;
  /** Stops the sweep and closes the store. */
  close(): Promise<void>;
}

export function createPresenceTracker(store: PresenceStore, options: { onSweepError?(error: unknown): void } = {}): PresenceTracker {
  const listeners: PresenceListener[] = [];
  const report = (changes: PresenceChange[]): void => {
    if (changes.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(changes);
      } catch {
        // A listener reports its own failures; presence goes on.
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let sweeping = false;
  const sweep = async (): Promise<void> => {
    if (sweeping) return;
    sweeping = true;
    try {
      report(await store.sweep(SWEEP_MAX_CHANNELS));
    } finally {
      sweeping = false;
    }
  };
  return {
    async touch(touches, ttlMs) {
      if (touches.length === 0) return [];
      const { changes, refused } = await store.touch(touches, ttlMs);
      report(changes);
      return refused;
    },
    async release(releases) {
      if (releases.length === 0) return;
      report(await store.release(releases));
    },
    async read(channel, page) {
      const { changes, ...read } = await store.read(channel, page);
      report(changes);
      return read;
    },
    sweep,
    listen(listener) {
      listeners.push(listener);
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void sweep().catch((error: unknown) => options.onSweepError?.(error)), SWEEP_INTERVAL_MS);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    async close() {
      this.stop();
      await store.close();
    },
  };
}
