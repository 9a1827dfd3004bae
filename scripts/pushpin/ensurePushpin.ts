// Finds the Pushpin binary, installing the Debian package when we are root on an apt system, as the
// README promises. Anywhere else it stops with the install command for the user's platform.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureCommand, MissingToolError } from '../stack/aptPackages.ts';
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

function readVersion(path: string): PushpinVersion {
  const output = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10000 });
  return parsePushpinVersion(output);
}

export function ensurePushpin(configuredPath?: string, log: (line: string) => void = console.log): PushpinBinary {
  const explicit = configuredPath ?? process.env.PUSHPIN_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new PushpinMissingError(`Pushpin not found at ${explicit}.\n${INSTALL_HINT}`);
    return { path: explicit, version: readVersion(explicit) };
  }
  try {
    const path = ensureCommand('pushpin', 'pushpin', INSTALL_HINT, log);
    return { path, version: readVersion(path) };
  } catch (error) {
    if (error instanceof MissingToolError) throw new PushpinMissingError(error.message);
    throw error;
  }
}
