// Finds the Pushpin binary, installing the Debian package when we are root on an apt system, as the
// README promises. Anywhere else it stops with the install command for the user's platform.
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureCommand, findCommand, MissingToolError } from '../shared/aptPackages.ts';
import { parsePushpinVersion, type PushpinVersion } from './pushpinVersion.ts';

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

/** The wrapper fastly.toml gives the Fastly CLI as `pushpin_path` (see pushpinWrapper.ts). */
export const PUSHPIN_WRAPPER_PATH = fileURLToPath(new URL('./pushpin-wrapper', import.meta.url));

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function isPushpinWrapper(path: string): boolean {
  return realPath(path) === realPath(PUSHPIN_WRAPPER_PATH);
}

/**
 * The installed Pushpin without installing anything: PUSHPIN_PATH, else `pushpin` on PATH. Never the
 * wrapper itself (a PUSHPIN_PATH pointing at it would make it exec itself forever).
 */
export function findInstalledPushpin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.PUSHPIN_PATH;
  if (explicit && !isPushpinWrapper(explicit)) {
    if (!existsSync(explicit)) throw new PushpinMissingError(`Pushpin not found at PUSHPIN_PATH=${explicit}.\n${INSTALL_HINT}`);
    return explicit;
  }
  const found = findCommand('pushpin');
  return found && !isPushpinWrapper(found) ? found : undefined;
}

export function readVersion(path: string): PushpinVersion {
  const output = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10000 });
  return parsePushpinVersion(output);
}

export function ensurePushpin(configuredPath?: string, log: (line: string) => void = console.log): PushpinBinary {
  // The wrapper only adapts the CLI's config to the installed Pushpin; our own generator already
  // writes for that version, so run the installed one straight away.
  const explicit = [configuredPath, process.env.PUSHPIN_PATH].find((path) => path && !isPushpinWrapper(path));
  if (explicit) {
    const from =
      explicit === configuredPath
        ? " (local_server.pushpin.pushpin_path; a relative one is relative to the manifest's directory)"
        : ' (PUSHPIN_PATH)';
    if (!existsSync(explicit)) throw new PushpinMissingError(`Pushpin not found at ${explicit}${from}.\n${INSTALL_HINT}`);
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
