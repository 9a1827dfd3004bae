// Collects file changes into bursts: an editor's save, a `git checkout` or a formatter touches many
// files within a few milliseconds, and each burst should cost one rebuild or restart, not one per
// file. A burst ends when no change has come for `quietMs`; one that never goes quiet (a generator
// rewriting files in a loop) still ends after `maxWaitMs`.

export interface ChangeBurstOptions {
  /** Quiet time that ends a burst. */
  quietMs: number;
  /** Longest a burst is held, however busy it stays. */
  maxWaitMs: number;
  /** Called once per burst with the files changed in it (each once, in the order first seen). */
  onBurst(files: string[]): void;
}

export interface ChangeBurst {
  add(file: string): void;
  /** Forgets a burst still being collected. */
  cancel(): void;
}

export function createChangeBurst(options: ChangeBurstOptions): ChangeBurst {
  let files: string[] = [];
  let quietTimer: NodeJS.Timeout | undefined;
  let maxTimer: NodeJS.Timeout | undefined;
  const clear = (): void => {
    clearTimeout(quietTimer);
    clearTimeout(maxTimer);
    quietTimer = undefined;
    maxTimer = undefined;
  };
  const end = (): void => {
    clear();
    const burst = files;
    files = [];
    if (burst.length > 0) options.onBurst(burst);
  };
  return {
    add(file) {
      if (!files.includes(file)) files.push(file);
      clearTimeout(quietTimer);
      quietTimer = setTimeout(end, options.quietMs);
      maxTimer ??= setTimeout(end, options.maxWaitMs);
    },
    cancel() {
      clear();
      files = [];
    },
  };
}
