// Watches a source folder (edge/ or origin/) for `npm start -- --watch` and reports changes in bursts
// (changeBurst.ts). With chokidar rather than node's fs.watch: Node 20's `recursive` watch on Linux
// keeps one watch per file and loses a file that an editor saves atomically (write a temporary file,
// rename it over the old one): later changes to that file were not reported at all (checked here on
// Node 20.20). chokidar watches the directories, which sees those renames.
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { createChangeBurst } from './changeBurst.ts';

/** Quiet time that ends a burst of changes: an editor's save takes a few ms, a checkout ~100 ms. */
export const DEFAULT_QUIET_MS = 300;
const MAX_BURST_MS = 3000;

/**
 * Changes that are not the app's code: dotfiles and dot-folders (editor swap and temporary files),
 * backups ending in `~`, node_modules, and the unit tests beside the source (neither the build nor the
 * origin loads them).
 */
export function isIgnoredSourcePath(relativePath: string): boolean {
  const parts = relativePath.split(sep);
  const name = parts[parts.length - 1] ?? '';
  return parts.some((part) => part.startsWith('.') || part === 'node_modules') || name.endsWith('~') || /\.test\.[cm]?[jt]sx?$/.test(name);
}

export interface SourceWatch {
  /** Resolves once the folder is being watched (changes before that are not seen). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface SourceWatchOptions {
  quietMs?: number;
  /** The watch failed (too many watches, the folder went away): it goes on where it can. */
  onError?(error: Error): void;
}

/** Calls `onBurst` with the changed files (relative to `dir`) once per burst of changes. */
export function watchSources(dir: string, onBurst: (files: string[]) => void, options: SourceWatchOptions = {}): SourceWatch {
  const burst = createChangeBurst({ quietMs: options.quietMs ?? DEFAULT_QUIET_MS, maxWaitMs: MAX_BURST_MS, onBurst });
  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path) => {
      const rel = relative(dir, path);
      return rel !== '' && isIgnoredSourcePath(rel);
    },
  });
  watcher.on('all', (_event, path) => burst.add(relative(dir, path)));
  watcher.on('error', (error) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      burst.cancel();
      await watcher.close();
    },
  };
}
