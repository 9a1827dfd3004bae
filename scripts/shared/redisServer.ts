// A private redis-server (Debian's) for tests and benchmarks: a free port, no persistence, stopped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from './aptPackages.ts';
import { startManagedProcess } from './managedProcess.ts';
import { findFreePort } from './ports.ts';

export interface RunningRedis {
  url: string;
  port: number;
  /** The redis-server process (for CPU and memory figures in benchmarks). */
  pid: number;
  stop(): Promise<void>;
  /** SIGKILL: no shutdown save, as a crash would leave it. */
  kill(): Promise<void>;
}

export const REDIS_HINT = 'Install Redis: sudo apt-get install -y redis-server';

/** redis-server's path; the vitest global setup has installed it when it was missing and we are root. */
export function redisServerPath(log?: (line: string) => void): string {
  return ensureCommand('redis-server', 'redis-server', REDIS_HINT, log);
}

export interface RedisServerOptions {
  /** Reuse a port (to restart a server where clients expect it). */
  port?: number;
  /** Keep the data here (RDB snapshots on SAVE) instead of a fresh temporary directory; kept on stop. */
  dataDir?: string;
  /** Persist every write before acknowledging it (appendonly yes, appendfsync always), in dataDir. */
  durable?: boolean;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RunningRedis> {
  const port = options.port ?? (await findFreePort());
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'redis-'));
  const persistence = options.dataDir ? ['--save', '', '--dbfilename', 'dump.rdb'] : ['--save', ''];
  const child = await startManagedProcess({
    name: 'redis',
    command: redisServerPath(),
    args: [
      '--port', String(port), '--bind', '127.0.0.1', ...persistence,
      ...(options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      '--dir', dir,
    ],
    cwd: dir,
    ready: /Ready to accept connections/,
    logFile: join(dir, 'redis.log'),
  }).catch((error: unknown) => {
    if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      await child.stop();
      if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      process.kill(child.pid, 'SIGKILL');
      await child.exited;
    },
  };
}
