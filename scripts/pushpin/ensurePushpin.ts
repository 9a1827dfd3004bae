// Finds the Pushpin binary, installing the Debian package when we are root on an apt system, as the
// README promises. Anywhere else it stops with the install command for the user's platform.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parsePushpinVersion, type PushpinVersion } from './pushpinConfig.ts';

export interface PushpinBinary {
  path: string;
  version: PushpinVersion;
}

export class PushpinMissingError extends Error {
  override name = 'PushpinMissingError';
}

const INSTALL_HINT =
  'Install Pushpin and run again:\n' +
  '  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y pushpin\n' +
  '  macOS:          brew install pushpin\n' +
  'or set local_server.pushpin.pushpin_path in fastly.toml (or PUSHPIN_PATH) to the binary.';

function whichPushpin(): string | undefined {
  const result = spawnSync('sh', ['-c', 'command -v pushpin'], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

function readVersion(path: string): PushpinVersion {
  const output = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10000 });
  return parsePushpinVersion(output);
}

function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

function installWithApt(log: (line: string) => void): void {
  log('pushpin not found; installing the Debian package (apt-get install -y pushpin)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'pushpin']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      throw new PushpinMissingError(`apt-get ${args.join(' ')} failed (exit ${result.status}).\n${INSTALL_HINT}`);
    }
  }
}

export function ensurePushpin(configuredPath?: string, log: (line: string) => void = console.log): PushpinBinary {
  const explicit = configuredPath ?? process.env.PUSHPIN_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new PushpinMissingError(`Pushpin not found at ${explicit}.\n${INSTALL_HINT}`);
    return { path: explicit, version: readVersion(explicit) };
  }
  let path = whichPushpin();
  if (!path) {
    if (!canInstallWithApt()) throw new PushpinMissingError(`pushpin is not installed.\n${INSTALL_HINT}`);
    installWithApt(log);
    path = whichPushpin();
    if (!path) throw new PushpinMissingError(`pushpin is still missing after apt-get install.\n${INSTALL_HINT}`);
  }
  return { path, version: readVersion(path) };
}
