// Runs the publish CLI as a real child process (node --import tsx scripts/publish.ts ...), with an
// environment stripped of publish settings so the caller's shell cannot change what a test means.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const PUBLISH_ENV = ['GRIP_URL', 'FASTLY_SERVICE_ID', 'FASTLY_API_TOKEN', 'FASTLY_API_URL', 'ORIGIN_URL', 'PUBLISH_TOKEN'];

export function runPublishCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PUBLISH_ENV) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/publish.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
