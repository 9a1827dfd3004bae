// Which Viceroy `npm run serve` lets the Fastly CLI run. The CLI itself (fastly/cli
// pkg/commands/compute/viceroy.go, v16) uses `--viceroy-path` when given; with
// FASTLY_VICEROY_USE_PATH=1|true a `viceroy` on PATH; otherwise the one it downloaded to
// <os.UserConfigDir()>/fastly/viceroy (home/.fastly when there is no config dir), which it asks for
// `--version` ("viceroy X.Y.Z") and downloads from GitHub when that fails. Where nothing is installed
// and GitHub cannot be reached that download stops the CLI, so: an installed Viceroy is left to the
// CLI, a `viceroy` on PATH is passed as --viceroy-path, and with neither the local Compute host is.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export type ViceroyKind = 'given' | 'cli-path-lookup' | 'cli-installed' | 'on-path' | 'local-host';

export interface ViceroyChoice {
  kind: ViceroyKind;
  /** Set when `npm run serve` adds `--viceroy-path=<this>` to the CLI's arguments. */
  viceroyPath?: string;
  /** One line for the user: which Viceroy and why. */
  reason: string;
}

export interface ViceroyEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  homedir: string;
  /** The local Compute host's Viceroy-compatible launcher (scripts/compute-host/viceroy). */
  localHost: string;
  /** `viceroy --version`'s output, or undefined when it does not run. */
  versionOf?: (binary: string) => string | undefined;
}

/** Go's os.UserConfigDir(), or undefined where it fails. */
export function userConfigDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string | undefined {
  if (platform === 'win32') return env.AppData || undefined;
  if (platform === 'darwin') return env.HOME ? join(env.HOME, 'Library', 'Application Support') : undefined;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) return isAbsolute(xdg) ? xdg : undefined;
  return env.HOME ? join(env.HOME, '.config') : undefined;
}

/** Where the Fastly CLI keeps the Viceroy it downloads (github.InstallDir + binary name). */
export function cliViceroyPath(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, homedir: string): string {
  const configDir = userConfigDir(platform, env);
  const installDir = configDir ? join(configDir, 'fastly') : join(homedir, '.fastly');
  return join(installDir, platform === 'win32' ? 'viceroy.exe' : 'viceroy');
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  const names = platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const candidate of names.map((n) => join(dir, n))) if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export function viceroyVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) return undefined;
  const output = `${result.stdout}`.trim();
  return /^viceroy\s+\S+/.test(output) ? output : undefined;
}

export function chooseViceroy(
  args: { viceroyPath?: string; viceroyCheck: boolean },
  where: ViceroyEnvironment,
): ViceroyChoice {
  if (args.viceroyPath) return { kind: 'given', reason: `Viceroy: ${args.viceroyPath} (--viceroy-path)` };
  if (['1', 'TRUE'].includes((where.env.FASTLY_VICEROY_USE_PATH ?? '').toUpperCase())) {
    return { kind: 'cli-path-lookup', reason: 'Viceroy: the `viceroy` on PATH (FASTLY_VICEROY_USE_PATH is set)' };
  }
  const versionOf = where.versionOf ?? viceroyVersion;
  const installed = cliViceroyPath(where.platform, where.env, where.homedir);
  if (args.viceroyCheck) {
    return { kind: 'cli-installed', reason: `Viceroy: the Fastly CLI's (--viceroy-check; it may download one to ${installed})` };
  }
  if (isExecutableFile(installed)) {
    const version = versionOf(installed);
    if (version) return { kind: 'cli-installed', reason: `Viceroy: ${installed} (${version}), installed by the Fastly CLI` };
  }
  const onPath = findOnPath('viceroy', where.env, where.platform);
  if (onPath) {
    const version = versionOf(onPath);
    if (version) return { kind: 'on-path', viceroyPath: onPath, reason: `Viceroy: ${onPath} (${version}), found on PATH` };
  }
  return {
    kind: 'local-host',
    viceroyPath: where.localHost,
    reason: `Viceroy: none installed (not at ${installed}, not on PATH), so the local Compute host ${where.localHost}`,
  };
}
