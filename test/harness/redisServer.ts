// A private redis-server (Debian's) for tests: a free port, no persistence, stopped afterwards.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startManagedProcess } from '../../scripts/stack/managedProcess.ts';
import { findFreePort } from '../../scripts/stack/ports.ts';

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function redisServerPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error('redis-server is not installed; install it with `apt-get install -y redis-server` (.ci/run does)');
  }
  return found;
}

export async function startRedisServer(): Promise<RunningRedis> {
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  const child = await startManagedProcess({
    name: 'redis',
    command: redisServerPath(),
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    cwd: dir,
    ready: /Ready to accept connections/,
    logFile: join(dir, 'redis.log'),
  }).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
