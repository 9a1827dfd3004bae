// The Node half of scripts/pushpin/pushpin-wrapper, the Pushpin that fastly.toml gives the Fastly CLI
// (`pushpin_path`). The CLI always writes a config for Pushpin 1.40+ (`services=connmgr,proxy,handler`),
// on which older runners start nothing and never print "started", with Pushpin's 8 KiB client buffer,
// and routes without the catch-all Pushpin 1.36 needs. Given the CLI's arguments, this finds the
// installed Pushpin, reads its version and, when the config or its routes need adapting (the rules of
// the generator: pushpinConfigAdapter.ts), writes adapted copies, and on versions that run zurl our own
// libdir with zurl's template (zurlLibdir.ts), beside the adapted config. The delivery settings come
// from the Pushpin profile PUSHPIN_PROFILE names (pushpinProfiles.ts; the CLI passes its environment
// on), else the default one.
// It prints two lines for the shell half, which then execs the installed Pushpin itself (same pid, same
// output, same signals, so the CLI sees a normal Pushpin):
//   1. the installed Pushpin's path
//   2. the adapted copy to pass as --config instead, or an empty line to pass the arguments unchanged
// Messages for the user go to stderr, which the CLI shows.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findInstalledPushpin, PUSHPIN_WRAPPER_PATH, PushpinMissingError, readVersion } from './ensurePushpin.ts';
import { formatVersion, type PushpinVersion } from './pushpinVersion.ts';
import { adaptPushpinConfig, adaptPushpinRoutes, anchorRoutesFile, readPushpinSetting, withRoutesFile } from './pushpinConfigAdapter.ts';
import { pushpinProfileFromEnv, type PushpinProfileName } from './pushpinProfiles.ts';
import { packageLibdirOf, writeOwnLibdir } from './zurlLibdir.ts';

export class WrapperError extends Error {
  override name = 'WrapperError';
}

/** The value of `--config=X` or `--config X`, as Pushpin's runner accepts both. */
export function configArgument(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
    if (arg === '--config') {
      const value = args[i + 1];
      if (value === undefined) throw new WrapperError('--config needs a file');
      return value;
    }
  }
  return undefined;
}

/**
 * Where the adapted copy goes. In the config's own absolute rundir when it has one, as the CLI's does:
 * the CLI deletes that directory when it stops Pushpin, so no copy is left behind. Beside the original
 * otherwise, or when HTTPS ports are set (the runner looks for certificates beside the config file).
 */
export function adaptedConfigPath(configPath: string, text: string, version: PushpinVersion): string {
  const rundir = readPushpinSetting(text, 'global', 'rundir') ?? readPushpinSetting(text, 'runner', 'rundir');
  const https = readPushpinSetting(text, 'runner', 'https_ports');
  const name = `${basename(configPath, '.conf')}.pushpin-${formatVersion(version)}.conf`;
  if (rundir?.startsWith('/') && !rundir.includes('{') && !https) return join(rundir, name);
  return join(dirname(configPath), `.${name}`);
}

export interface WrapperPlan {
  pushpin: string;
  /** The adapted config to run with instead of the given one; undefined to run it unchanged. */
  adaptedConfig?: string;
  changes: string[];
  version?: PushpinVersion;
  /** The Pushpin profile the config was adapted to (when there was one to adapt). */
  profile?: PushpinProfileName;
}

export function planPushpinRun(args: string[], env: NodeJS.ProcessEnv = process.env): WrapperPlan {
  const pushpin = findInstalledPushpin(env);
  if (!pushpin) {
    throw new PushpinMissingError(
      'no Pushpin installed (looked at PUSHPIN_PATH and for `pushpin` on PATH).\n' +
        'Install it: sudo apt-get install -y pushpin (Debian/Ubuntu), brew install pushpin (macOS).',
    );
  }
  const given = configArgument(args);
  // --version, --help, or a runner left to find its own config: nothing to adapt.
  if (given === undefined) return { pushpin, changes: [] };
  const configPath = resolve(given);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new WrapperError(`cannot read the Pushpin config ${configPath}: ${(error as Error).message}`);
  }
  const profile = pushpinProfileFromEnv(env);
  const version = readVersion(pushpin);
  const target = adaptedConfigPath(configPath, text, version);
  // Our libdir lives beside the adapted copy, so it goes with it (with the CLI: its run directory).
  const ownLibdir = join(dirname(target), `${basename(target, '.conf')}.lib`);
  const packageLibdir = packageLibdirOf(pushpin);
  const adapted = adaptPushpinConfig(text, version, {
    profile,
    ...(packageLibdir ? { libdirs: { own: ownLibdir, package: packageLibdir } } : {}),
  });
  // Pushpin reads the routes file relative to the config file.
  const routesPath = resolve(dirname(configPath), readPushpinSetting(text, 'proxy', 'routesfile') ?? 'routes');
  let routes: string | undefined;
  try {
    routes = readFileSync(routesPath, 'utf8');
  } catch {
    // None to adapt: Pushpin reports a missing routes file itself.
  }
  const adaptedRoutes = routes === undefined ? undefined : adaptPushpinRoutes(routes, version);
  const changes = [...adapted.changes, ...(adaptedRoutes?.changes ?? [])];
  if (changes.length === 0) return { pushpin, changes: [], version, profile };
  let copy = dirname(target) === dirname(configPath) ? adapted.text : anchorRoutesFile(adapted.text, dirname(configPath));
  mkdirSync(dirname(target), { recursive: true });
  if (adaptedRoutes && adaptedRoutes.changes.length > 0) {
    // A copy beside the adapted config (Pushpin reloads the routes file when it changes; the CLI
    // writes its own once, before it starts Pushpin).
    const routesCopy = join(dirname(target), `${basename(target, '.conf')}.routes`);
    writeFileSync(routesCopy, adaptedRoutes.routes, { mode: 0o600 });
    copy = withRoutesFile(copy, routesCopy);
  }
  if (adapted.zurlTemplate !== undefined) writeOwnLibdir(ownLibdir, adapted.zurlTemplate);
  writeFileSync(target, copy, { mode: 0o600 });
  return { pushpin, adaptedConfig: target, changes, version, profile };
}

function main(): number {
  try {
    const plan = planPushpinRun(process.argv.slice(2));
    for (const path of [plan.pushpin, plan.adaptedConfig ?? '']) {
      if (path.includes('\n')) throw new WrapperError(`cannot pass a path containing a newline: ${JSON.stringify(path)}`);
    }
    if (plan.adaptedConfig && plan.version) {
      process.stderr.write(
        `pushpin-wrapper: adapted the config for Pushpin ${formatVersion(plan.version)}, Pushpin profile ${plan.profile} ` +
          `(${plan.changes.join('; ')}): ${plan.adaptedConfig}\n`,
      );
    }
    process.stdout.write(`${plan.pushpin}\n${plan.adaptedConfig ?? ''}\n`);
    return 0;
  } catch (error) {
    // Missing Pushpin, unreadable config, a version too old: the CLI shows stderr and stops.
    process.stderr.write(`pushpin-wrapper (${PUSHPIN_WRAPPER_PATH}): ${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
