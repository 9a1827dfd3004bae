// `npm run build` for `npm start` (at start when bin/main.wasm is stale, and on every change in watch
// mode), as a managed process, so that a shutdown stops it too. A failed build does not leave a broken
// bin/main.wasm behind: js-compute-runtime truncates its output before it initialises the app, so an
// app that throws at start-up left an empty file, newer than the sources, that the next `npm start`
// took for a fresh build. The previous file is put back (with its own mtime, so it still counts as
// stale), also when the build is interrupted by a shutdown.
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_WASM } from '../compute-host/edgeBuild.ts';
import { startManagedProcess } from '../shared/managedProcess.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

export type EdgeBuildResult = { ok: true; ms: number } | { ok: false; ms: number; status: number | string; output: string };

export interface EdgeRebuildOptions {
  /** Where the previous bin/main.wasm is kept while the build runs. */
  keepDir: string;
  /** The wasm `npm run build` writes (bin/main.wasm). */
  wasmPath?: string;
}

export async function rebuildEdge(options: EdgeRebuildOptions): Promise<EdgeBuildResult> {
  const wasmPath = options.wasmPath ?? EDGE_WASM;
  const started = Date.now();
  const kept = join(options.keepDir, 'main.wasm.previous');
  let previous: { atime: Date; mtime: Date } | undefined;
  if (existsSync(wasmPath)) {
    mkdirSync(options.keepDir, { recursive: true });
    copyFileSync(wasmPath, kept);
    const stat = statSync(wasmPath);
    previous = { atime: stat.atime, mtime: stat.mtime };
  }
  let settled = false;
  // Synchronous, so that it also runs from an 'exit' handler (a shutdown in the middle of the build).
  const restore = (): void => {
    if (settled) return;
    settled = true;
    if (previous) {
      copyFileSync(kept, wasmPath);
      utimesSync(wasmPath, previous.atime, previous.mtime);
    } else {
      rmSync(wasmPath, { force: true });
    }
  };
  process.once('exit', restore);
  let result: EdgeBuildResult;
  try {
    const build = await startManagedProcess({
      name: 'build',
      command: 'npm',
      args: ['run', '--silent', 'build'],
      cwd: PROJECT_ROOT,
      ready: async () => true,
    });
    const status = await build.exited;
    result = status === 0 ? { ok: true, ms: Date.now() - started } : { ok: false, ms: Date.now() - started, status, output: build.recentOutput() };
  } catch (error) {
    result = { ok: false, ms: Date.now() - started, status: 'not started', output: (error as Error).message };
  }
  if (result.ok) settled = true;
  else restore();
  process.off('exit', restore);
  rmSync(kept, { force: true });
  return result;
}
