// One more origin process beside a test stack (for several instances sharing Redis): a free port, its
// log in the given directory, the same Grip-Sig key as the stack's Pushpin.
import { join } from 'node:path';
import { startManagedProcess, type ManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../../scripts/pushpin/pushpinConfig.ts';

export interface ExtraOrigin {
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startExtraOrigin(options: {
  name: string;
  pushpinPublishUrl: string;
  logDir: string;
  env?: Record<string, string>;
  /** Listen here (to stand in for an origin that was stopped); a free port by default. */
  port?: number;
}): Promise<ExtraOrigin> {
  const port = options.port ?? (await findFreePort());
  const url = `http://127.0.0.1:${port}`;
  const child = await startManagedProcess({
    name: options.name,
    command: process.execPath,
    args: ['--import', 'tsx', join(PROJECT_ROOT, 'origin/server.ts')],
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      GRIP_URL: `${options.pushpinPublishUrl}/?verify-iss=${LOCAL_GRIP_SIG_ISS}`,
      GRIP_VERIFY_KEY: LOCAL_GRIP_SIG_KEY,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    ready: async () => (await fetch(`${url}/healthz`)).ok,
    readyTimeoutMs: 30_000,
    logFile: join(options.logDir, `${options.name}.log`),
  });
  return { url, process: child, stop: () => child.stop() };
}
