// Builds bin/main.wasm with `npm run build` when it is missing or older than the edge sources, so
// `npm start` and the tests always run the edge as it is in edge/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

export const EDGE_WASM = join(PROJECT_ROOT, 'bin', 'main.wasm');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function edgeBuildIsStale(wasmPath = EDGE_WASM): boolean {
  if (!existsSync(wasmPath)) return true;
  const built = statSync(wasmPath).mtimeMs;
  const sources = Math.max(newestMtime(join(PROJECT_ROOT, 'edge')), statSync(join(PROJECT_ROOT, 'package.json')).mtimeMs);
  return sources > built;
}

/** Returns true when it had to build. Throws with the build output when the build fails. */
export function ensureEdgeBuilt(log: (line: string) => void = console.log): boolean {
  if (!edgeBuildIsStale()) return false;
  log('building bin/main.wasm (npm run build)...');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run build failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
  return true;
}
