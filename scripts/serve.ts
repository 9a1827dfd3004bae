// `npm run serve [-- <fastly compute serve flags>]`: the Fastly CLI's `fastly compute serve` (the
// @fastly/cli devDependency) with every argument passed through, plus what it needs on a machine
// without Viceroy and to be a whole stack:
// - when no Viceroy is installed, `--viceroy-path` to the local Compute host (see serve/viceroyChoice.ts);
// - the origin, on the port of fastly.toml's `origin` backend, publishing to the CLI's Pushpin;
// - everything stops with the CLI: when it exits, is killed, or this launcher is (serve/groupWatchdog.ts).
// The Pushpin side is fastly.toml's `pushpin_path`, scripts/pushpin/pushpin-wrapper.
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import fastlyCli from '@fastly/cli';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from './pushpin/pushpinConfig.ts';
import { endGroups, startGroupWatchdog } from './serve/groupWatchdog.ts';
import { watchParents } from './serve/parentWatch.ts';
import { edgeAddress, parseServeArguments, ServeUsageError, type ServeArguments } from './serve/serveArguments.ts';
import { chooseViceroy } from './serve/viceroyChoice.ts';
import { readManifest, ManifestError, type LocalManifest } from './stack/fastlyManifest.ts';
import { startManagedProcess, type ManagedProcess } from './stack/managedProcess.ts';
import { assertPortsFree, PortInUseError } from './stack/ports.ts';
import { PROJECT_ROOT } from './stack/projectRoot.ts';

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
Pushpin is fastly.toml's pushpin_path, scripts/pushpin/pushpin-wrapper (any Pushpin version).
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
  const url = `http://127.0.0.1:${plan.port}`;
  return startManagedProcess({
    name: 'origin',
    command: process.execPath,
    args: ['--import', 'tsx', '--import', join(PROJECT_ROOT, 'scripts/serve/exitWithParent.ts'), join(PROJECT_ROOT, 'origin/server.ts')],
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(plan.port),
      HOST: '127.0.0.1',
      GRIP_URL: `http://127.0.0.1:${plan.publishPort}/?verify-iss=${LOCAL_GRIP_SIG_ISS}`,
      GRIP_VERIFY_KEY: LOCAL_GRIP_SIG_KEY,
    },
    ready: async () => (await fetch(`${url}/healthz`)).ok,
    readyTimeoutMs: 30_000,
    logFile: join(PROJECT_ROOT, 'pushpin-logs', 'origin.log'),
    echo: true,
  });
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (numbers[signal] ?? 1) : 1);
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
    const help = spawn(fastlyCli, cliArgs, { stdio: 'inherit' });
    const code = await new Promise<number>((resolvePromise) => help.once('exit', (c, signal) => resolvePromise(exitCodeOf(c, signal))));
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
  if (viceroy.viceroyPath) cliArgs.splice(2, 0, `--viceroy-path=${viceroy.viceroyPath}`);

  const watchdog = startGroupWatchdog();
  // The CLI in a process group of its own, with the Pushpin and Viceroy it starts: when it is gone,
  // whatever it left behind is ended as a group. Signals for it are forwarded (below), and it gets no
  // terminal input (a background group reading the terminal would be stopped by the kernel).
  say(`running ${['fastly', ...cliArgs].join(' ')}`);
  const cli = spawn(fastlyCli, cliArgs, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const cliGroup = cli.pid;
  if (cliGroup !== undefined) watchdog.guard(cliGroup);
  const cliExited = new Promise<number>((resolvePromise) => {
    cli.once('exit', (code, signal) => resolvePromise(exitCodeOf(code, signal)));
    cli.once('error', (error) => {
      say(`cannot run the Fastly CLI (${fastlyCli}): ${error.message}`);
      resolvePromise(1);
    });
  });

  let stopRequested = false;
  const forward = (signal: NodeJS.Signals): void => {
    // npm passes a terminal's Ctrl-C on as well: one forwarded signal is enough.
    if (stopRequested) return;
    stopRequested = true;
    if (cliGroup !== undefined) {
      try {
        process.kill(cliGroup, signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
      } catch {
        // already gone
      }
    }
    setTimeout(() => {
      say(`the Fastly CLI did not stop within ${CLI_STOP_TIMEOUT_MS / 1000} s; killing it`);
      if (cliGroup !== undefined) void endGroups([cliGroup], 0);
    }, CLI_STOP_TIMEOUT_MS).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => forward(signal));
  // Killed npm (or its `sh -c`) with SIGKILL: nobody is there to signal us, so stop as on SIGTERM.
  watchParents(
    (why) => {
      say(`stopping: ${why}`);
      forward('SIGTERM');
    },
    { grandparent: process.env.npm_lifecycle_event !== undefined },
  );

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
              forward('SIGTERM');
            });
          },
          (error: unknown) => {
            originFailed = true;
            say(`the origin did not start: ${(error as Error).message}`);
            forward('SIGTERM');
          },
        );

  const code = await cliExited;
  stopRequested = true;
  // Whatever the CLI did not stop itself (it was killed, say): its Pushpin, its Viceroy.
  if (cliGroup !== undefined) await endGroups([cliGroup]);
  await originStarted;
  await originProcess?.stop();
  watchdog.close();
  return originFailed && code === 0 ? 1 : code;
}

process.exitCode = await main(process.argv.slice(2));
// Nothing else to wait for (a forwarded signal's timer, the watchdog's pipe).
process.exit();
