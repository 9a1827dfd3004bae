// Runs Pushpin as a foreground child with a generated config in a private temporary rundir, waits for
// its "started" line and stops it (and the services its runner spawned) cleanly.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ManifestBackend } from '../stack/fastlyManifest.ts';
import { startManagedProcess, type ManagedProcess } from '../stack/managedProcess.ts';
import { ensurePushpin } from './ensurePushpin.ts';
import { buildPushpinConfig } from './pushpinConfig.ts';

export interface PushpinOptions {
  backends: ManifestBackend[];
  proxyPort: number;
  publishPort: number;
  /** Where Pushpin's merged log goes; the directory is created. */
  logDir: string;
  pushpinPath?: string;
  echo?: boolean;
  log?: (line: string) => void;
}

export interface RunningPushpin {
  process: ManagedProcess;
  proxyUrl: string;
  publishUrl: string;
  logFile: string;
  configFile: string;
  stop(): Promise<void>;
}

export async function startPushpin(options: PushpinOptions): Promise<RunningPushpin> {
  const binary = ensurePushpin(options.pushpinPath, options.log);
  const workDir = mkdtempSync(join(tmpdir(), 'pushpin-'));
  const rundir = join(workDir, 'run');
  const logDir = resolve(options.logDir);
  mkdirSync(rundir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const files = buildPushpinConfig({
    version: binary.version,
    rundir,
    logdir: logDir,
    proxyPort: options.proxyPort,
    publishPort: options.publishPort,
    backends: options.backends,
  });
  const configFile = join(workDir, 'pushpin.conf');
  writeFileSync(configFile, files.config);
  writeFileSync(join(workDir, 'routes'), files.routes);
  const logFile = join(logDir, 'pushpin.log');

  const child = await startManagedProcess({
    name: 'pushpin',
    command: binary.path,
    args: [`--config=${configFile}`, '--merge-output'],
    cwd: workDir,
    ready: /\bstarted\s*$/m,
    logFile,
    ...(options.echo !== undefined ? { echo: options.echo } : {}),
  }).catch((error: unknown) => {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  });

  // Pushpin prints "started" before condure and the handler listen (measured here: up to ~200 ms later
  // on a loaded machine), so wait until both ports accept connections.
  try {
    await waitUntilListening([options.proxyPort, options.publishPort], 10_000);
  } catch (error) {
    await child.stop();
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }

  return {
    process: child,
    proxyUrl: `http://127.0.0.1:${options.proxyPort}`,
    publishUrl: `http://127.0.0.1:${options.publishPort}`,
    logFile,
    configFile,
    async stop() {
      await child.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilListening(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (Date.now() > deadline) throw new Error(`Pushpin started but port ${port} does not accept connections after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
