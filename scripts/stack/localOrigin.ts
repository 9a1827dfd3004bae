// The origin as the local stack and `npm run serve` start it: on loopback, publishing to the local
// Pushpin and verifying its signatures with the dev key, ready once /healthz answers.
import { join } from 'node:path';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../pushpin/pushpinConfig.ts';
import { startManagedProcess, type ManagedProcess } from '../shared/managedProcess.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

export interface LocalOriginOptions {
  port: number;
  /** Pushpin's first publish port. */
  publishPort: number;
  /** Extra environment, over the local defaults. */
  env?: Record<string, string>;
  logFile: string;
  echo?: boolean | ((line: string) => boolean);
  /** Node options before the entry point (e.g. `--cpu-prof` for a benchmark's profile). */
  nodeArgs?: string[];
}

export function startLocalOrigin(options: LocalOriginOptions): Promise<ManagedProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  return startManagedProcess({
    name: 'origin',
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), '--import', 'tsx', join(PROJECT_ROOT, 'origin/server.ts')],
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      GRIP_URL: `http://127.0.0.1:${options.publishPort}/?verify-iss=${LOCAL_GRIP_SIG_ISS}`,
      GRIP_VERIFY_KEY: LOCAL_GRIP_SIG_KEY,
      ...options.env,
    },
    ready: async () => (await fetch(`${url}/healthz`)).ok,
    readyTimeoutMs: 30_000,
    logFile: options.logFile,
    ...(options.echo !== undefined ? { echo: options.echo } : {}),
  });
}
