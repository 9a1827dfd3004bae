// Installs a Debian package when its command is missing and we are root on an apt system, so
// `npm start` and `npm test` work on a fresh machine; anywhere else it explains how to install it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

export function findCommand(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

export function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

/** Returns the command's path, installing `debianPackage` first when needed and possible. */
export function ensureCommand(
  command: string,
  debianPackage: string,
  hint: string,
  log: (line: string) => void = console.log,
): string {
  const found = findCommand(command);
  if (found) return found;
  if (!canInstallWithApt()) throw new MissingToolError(`${command} is not installed.\n${hint}`);
  log(`${command} not found; installing the Debian package ${debianPackage} (apt-get install -y ${debianPackage})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', debianPackage]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      throw new MissingToolError(`apt-get ${args.join(' ')} failed (exit ${result.status}).\n${hint}`);
    }
  }
  const installed = findCommand(command);
  if (!installed) throw new MissingToolError(`${command} is still missing after installing ${debianPackage}.\n${hint}`);
  return installed;
}
