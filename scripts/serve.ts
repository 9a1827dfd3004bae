// `npm run serve [-- <fastly compute serve flags>]`: the Fastly CLI's `fastly compute serve` (the
// @fastly/cli devDependency) with every argument passed through, plus what it needs on a machine
// without Viceroy and to be a whole stack:
// - when no Viceroy is installed, `--viceroy-path` to the local Compute host (see serve/viceroyChoice.ts);
// - the origin, on the port of fastly.toml's `origin` backend, publishing to the CLI's Pushpin;
// - everything stops with the CLI: when it exits, is killed, or this launcher is. The CLI and the origin
//   run under the process keepers `npm start` uses (shared/managedProcess.ts): one mechanism for both.
// The Pushpin side is fastly.toml's `pushpin_path`, scripts/pushpin/pushpin-wrapper, under the Pushpin
// profile PUSHPIN_PROFILE names (the CLI passes the environment on to it).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import fastlyCli from '@fastly/cli';
import { edgeAddress, parseServeArguments, ServeUsageError, type ServeArguments } from './serve/serveArguments.ts';
import { chooseViceroy } from './serve/viceroyChoice.ts';
import { readManifest, ManifestError, type LocalManifest } from './shared/fastlyManifest.ts';
import { watchLaunchers } from './shared/launcherWatch.ts';
import { startLocalOrigin } from './stack/localOrigin.ts';
import { startManagedProcess, type ManagedProcess } from './shared/managedProcess.ts';
import { assertPortsFree, PortInUseError } from './shared/ports.ts';
import { PROJECT_ROOT } from './shared/projectRoot.ts';
import { DEFAULT_PUSHPIN_PROFILE, PUSHPIN_PROFILE_ENV, PUSHPIN_PROFILE_NAMES, PUSHPIN_PROFILES, PushpinProfileError, pushpinProfileFromEnv, type PushpinProfileName } from './pushpin/pushpinProfiles.ts';

const ORIGIN_BACKEND = 'origin';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
/** How long the CLI gets to stop Pushpin and Viceroy after a forwarded signal before its group is killed. */
const CLI_STOP_TIMEOUT_MS = 10_000;

const HELP_ADDITIONS = `
npm run serve runs the above with these flags passed through, and also:
  - gives it --viceroy-path=scripts/compute-host/viceroy (the local Compute host) when no Viceroy is
    installed (none in the Fastly CLI's config directory, none on PATH) and none was chosen;
  - starts the origin on the port of the manifest's "origin" backend, publishing to the CLI's Pushpin;
  - stops it all when the CLI exits or is killed, and when npm run serve is.
Pushpin is fastly.toml's pushpin_path, scripts/pushpin/pushpin-wrapper (any Pushpin version), with
the delivery settings of the Pushpin profile PUSHPIN_PROFILE names (fanout, fanout-node, gentle;
default ${DEFAULT_PUSHPIN_PROFILE}; scripts/pushpin/pushpinProfiles.ts).
`;

const say = (line: string): void => void process.stderr.write(`npm run serve: ${line}\n`);

/** The manifest the CLI will read: fastly[.<env>].toml in --dir or the working directory. */
function manifestPathFor(args: ServeArguments): string {
  return resolve(args.dir ?? '.', args.env ? `fastly.${args.env}.toml` : 'fastly.toml');
}

interface OriginPlan {
  port: number;
  publishPort: number;
}

function originPlan(manifest: LocalManifest, args: ServeArguments): OriginPlan | string {
  const backend = manifest.backends.find((b) => b.name === ORIGIN_BACKEND);
  if (!backend) return `not starting the origin: the manifest has no [local_server.backends.${ORIGIN_BACKEND}]`;
  if (!LOCAL_HOSTS.has(backend.url.hostname) || backend.url.protocol !== 'http:') {
    return `not starting the origin: backend "${ORIGIN_BACKEND}" is ${backend.url.href}, not a local http:// address`;
  }
  return {
    port: Number(backend.url.port || 80),
    publishPort: args.pushpinPublishPort ?? manifest.pushpin.publishPort,
  };
}

async function checkPorts(manifest: LocalManifest, args: ServeArguments, origin: OriginPlan | string): Promise<void> {
  const wanted: Record<string, number> = { edge: edgeAddress(args).port };
  if (typeof origin !== 'string') wanted.origin = origin.port;
  if (manifest.pushpin.enable || args.experimentalEnablePushpin) {
    const publish = args.pushpinPublishPort ?? manifest.pushpin.publishPort;
    wanted['Pushpin proxy'] = args.pushpinProxyPort ?? manifest.pushpin.proxyPort;
    wanted['Pushpin publish'] = publish;
    for (let i = 1; i <= 3; i++) wanted[`Pushpin ZeroMQ ${publish + i}`] = publish + i;
  }
  await assertPortsFree(wanted);
}

function startOrigin(plan: OriginPlan): Promise<ManagedProcess> {
  return startLocalOrigin({ port: plan.port, publishPort: plan.publishPort, logFile: join(PROJECT_ROOT, 'pushpin-logs', 'origin.log'), echo: true });
}

/** The CLI's exit as a shell would report it: its code, or 128 + the signal that ended it. */
function exitCodeOf(status: number | string): number {
  if (typeof status === 'number') return status;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return status in numbers ? 128 + numbers[status]! : 1;
}

/**
 * The Fastly CLI under a process keeper, its output straight to the terminal. It stops its Pushpin
 * and Viceroy itself on SIGINT (and says "Local server stopped"), so stopping sends SIGINT to it
 * alone and gives it CLI_STOP_TIMEOUT_MS; whatever is left then (it hung, or it was SIGKILLed and left
 * them) is SIGKILLed, its process group and every descendant the keeper saw.
 */
function runFastlyCli(args: string[]): Promise<ManagedProcess> {
  return startManagedProcess({
    name: 'fastly',
    command: fastlyCli,
    args,
    output: 'inherit',
    ready: async () => true,
    stopSignal: 'SIGINT',
    stopLeaderOnly: true,
    stopGraceMs: CLI_STOP_TIMEOUT_MS,
  });
}

async function main(argv: string[]): Promise<number> {
  let args: ServeArguments;
  try {
    args = parseServeArguments(argv);
  } catch (error) {
    if (error instanceof ServeUsageError) {
      say(error.message);
      return 2;
    }
    throw error;
  }
  const cliArgs = ['compute', 'serve', ...argv];
  if (args.help) {
    const help = await runFastlyCli(cliArgs);
    const code = exitCodeOf(await help.exited);
    process.stdout.write(HELP_ADDITIONS);
    return code;
  }

  let manifest: LocalManifest;
  let origin: OriginPlan | string;
  try {
    manifest = readManifest(manifestPathFor(args));
    origin = originPlan(manifest, args);
    await checkPorts(manifest, args, origin);
  } catch (error) {
    if (error instanceof ManifestError || error instanceof PortInUseError || error instanceof ServeUsageError) {
      say(error.message);
      return 1;
    }
    throw error;
  }

  const viceroy = chooseViceroy(args, {
    platform: process.platform,
    env: process.env,
    homedir: homedir(),
    localHost: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
  });
  say(viceroy.reason);
  if (manifest.pushpin.enable) {
    // Checked here, not only in the wrapper the CLI starts: a bad name then stops us before the CLI runs.
    let profile: PushpinProfileName;
    try {
      profile = pushpinProfileFromEnv(process.env);
    } catch (error) {
      if (!(error instanceof PushpinProfileError)) throw error;
      say(error.message);
      return 2;
    }
    say(`Pushpin profile ${profile} (${PUSHPIN_PROFILES[profile].summary}; ${PUSHPIN_PROFILE_ENV}=${PUSHPIN_PROFILE_NAMES.join('|')} picks one), applied by scripts/pushpin/pushpin-wrapper`);
  }
  if (viceroy.viceroyPath) cliArgs.splice(2, 0, `--viceroy-path=${viceroy.viceroyPath}`);

  say(`running ${['fastly', ...cliArgs].join(' ')}`);
  let cli: ManagedProcess;
  try {
    cli = await runFastlyCli(cliArgs);
  } catch (error) {
    say(`cannot run the Fastly CLI (${fastlyCli}): ${(error as Error).message}`);
    return 1;
  }

  let stopRequested = false;
  const stopAll = (): void => {
    // npm passes a terminal's Ctrl-C on as well: one stop is enough.
    if (stopRequested) return;
    stopRequested = true;
    void cli.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stopAll);
  // npm killed outright (SIGKILL): nobody is there to signal us, so stop as on SIGTERM.
  watchLaunchers((pid) => {
    say(`stopping: process ${pid}, which launched this one, is gone`);
    stopAll();
  });

  let originProcess: ManagedProcess | undefined;
  let originFailed = false;
  const originStarted =
    typeof origin === 'string'
      ? (say(origin), Promise.resolve())
      : startOrigin(origin).then(
          (started) => {
            originProcess = started;
            say(`origin on http://127.0.0.1:${origin.port} (publishing to Pushpin on 127.0.0.1:${origin.publishPort}), log pushpin-logs/origin.log`);
            void started.exited.then((exit) => {
              if (stopRequested) return;
              // As npm start does: an edge without its origin is not the stack the user asked for.
              originFailed = true;
              say(`the origin exited (${exit}); stopping (see pushpin-logs/origin.log)`);
              stopAll();
            });
          },
          (error: unknown) => {
            originFailed = true;
            say(`the origin did not start: ${(error as Error).message}`);
            stopAll();
          },
        );

  // The keeper reports the CLI's exit once whatever it left behind (its Pushpin, its Viceroy) is gone.
  const code = exitCodeOf(await cli.exited);
  stopRequested = true;
  await originStarted;
  await originProcess?.stop();
  return originFailed && code === 0 ? 1 : code;
}

process.exitCode = await main(process.argv.slice(2));
// Nothing else to wait for (the launcher watch's timer).
process.exit();
