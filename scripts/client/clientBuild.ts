// Builds client/dist (`npm run build:client`) when it is missing or older than the client's or the
// protocol's sources or the build script, so the tests and a local origin always serve the client as it is in client/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

export const CLIENT_DIST = join(PROJECT_ROOT, 'client', 'dist');
/** What the build writes; the oldest of them decides whether it is stale. */
export const CLIENT_OUTPUTS = ['index.js', 'client.min.js', 'types/client/index.d.ts'].map((file) => join(CLIENT_DIST, file));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function clientBuildIsStale(): boolean {
  if (!CLIENT_OUTPUTS.every((file) => existsSync(file))) return true;
  const built = Math.min(...CLIENT_OUTPUTS.map((file) => statSync(file).mtimeMs));
  const sources = Math.max(
    newestSource(join(PROJECT_ROOT, 'client')),
    newestSource(join(PROJECT_ROOT, 'protocol')),
    statSync(join(PROJECT_ROOT, 'scripts', 'client', 'buildClient.mjs')).mtimeMs,
  );
  return sources > built;
}

/** Returns true when it had to build. Throws with the build output when the build fails. */
export function ensureClientBuilt(log: (line: string) => void = console.log): boolean {
  if (!clientBuildIsStale()) return false;
  log('building client/dist (npm run build:client)...');
  try {
    execFileSync('npm', ['run', '--silent', 'build:client'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run build:client failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
  return true;
}
