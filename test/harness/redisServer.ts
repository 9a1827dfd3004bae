// A private redis-server (Debian's) for tests: a free port, no persistence, stopped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from '../../scripts/stack/aptPackages.ts';
import { startManagedProcess } from '../../scripts/stack/managedProcess.ts';
import { findFreePort } from '../../scripts/stack/ports.ts';

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const REDIS_HINT = 'Install Redis: sudo apt-get install -y redis-server';

/** redis-server's path; the vitest global setup has installed it when it was missing and we are root. */
export function redisServerPath(log?: (line: string) => void): string {
  return ensureCommand('redis-server', 'redis-server', REDIS_HINT, log);
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
