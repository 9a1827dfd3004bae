// The guest worker's code as one plain ES module. A worker thread does not inherit the main thread's
// TypeScript loader, and registering tsx in each worker costs ~170 ms of CPU (it starts a loader
// thread of its own): the pool then grows slowly exactly when guests pile up on a slow backend. So the
// host bundles guestWorker.ts once at start with esbuild (the copy tsx itself runs on) into the temp
// directory, named by its content so hosts running side by side share it. Without esbuild the worker
// falls back to registering tsx (guestWorkerEntry.mjs).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Esbuild {
  buildSync(options: Record<string, unknown>): { outputFiles: Array<{ text: string }> };
}

const ENTRY = fileURLToPath(new URL('./guestWorker.ts', import.meta.url));
const TSX_ENTRY = new URL('./guestWorkerEntry.mjs', import.meta.url);

function esbuildOfTsx(): Esbuild {
  const fromHere = createRequire(import.meta.url);
  return createRequire(fromHere.resolve('tsx/package.json'))('esbuild') as Esbuild;
}

/** The module a guest worker runs: the bundle, or the tsx entry when bundling is not possible. */
export function guestWorkerModule(log: (line: string) => void): URL {
  try {
    const { outputFiles } = esbuildOfTsx().buildSync({
      entryPoints: [ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      write: false,
      logLevel: 'silent',
    });
    const code = outputFiles[0]!.text;
    const dir = join(tmpdir(), 'compute-host');
    const path = join(dir, `guestWorker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
    if (!existsSync(path)) {
      mkdirSync(dir, { recursive: true });
      const partial = `${path}.${process.pid}.tmp`;
      writeFileSync(partial, code);
      renameSync(partial, path);
    }
    return pathToFileURL(path);
  } catch (error) {
    log(`compute-host: cannot bundle the guest worker (${(error as Error).message}); workers load it through tsx, which starts them slower`);
    return TSX_ENTRY;
  }
}
