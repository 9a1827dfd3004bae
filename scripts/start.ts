// `npm start`: the local stack in the foreground, until Ctrl-C, SIGTERM or SIGHUP, until nobody reads
// its output any more, or until npm (whatever launched it) is gone. Every child runs under a process
// keeper, so it also stops when this process is SIGKILLed. See "Process lifecycle" in docs/local-development.md.
import { join } from 'node:path';
import { onBrokenOutput, outputIsOpen } from './shared/brokenOutput.ts';
import { watchLaunchers } from './shared/launcherWatch.ts';
import { startLocalStack, type LocalStack } from './stack/localStack.ts';
import { rebuildEdge } from './stack/edgeRebuild.ts';
import { DEFAULT_STOP_GRACE_MS, stopEveryManagedProcess } from './shared/managedProcess.ts';
import { PROJECT_ROOT } from './shared/projectRoot.ts';
import { parseStartOptions, START_USAGE, UsageError, type StartOptions } from './stack/startOptions.ts';
import { watchStack } from './stack/stackWatch.ts';
import { edgeBuildIsStale } from './compute-host/edgeBuild.ts';
import { PUSHPIN_PROFILES } from './pushpin/pushpinProfiles.ts';
import { DEV_PUBLISH_TOKEN } from '../origin/config/originConfig.ts';

/** Past this, exit whatever is left: the keepers see us gone and finish stopping the children. */
const HARD_EXIT_MS = DEFAULT_STOP_GRACE_MS + 1000;

function say(text: string): void {
  if (outputIsOpen()) console.log(text);
}

function complain(text: string): void {
  if (outputIsOpen()) console.error(text);
}

let stopping = false;
const beforeStopping: Array<() => Promise<void>> = [];
function onShutdown(hook: () => Promise<void>): void {
  beforeStopping.push(hook);
}
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`\n${reason}; stopping the stack...`);
  setTimeout(() => process.exit(code), HARD_EXIT_MS);
  await Promise.all([...beforeStopping.map((hook) => hook().catch(() => undefined)), stopEveryManagedProcess()]);
  say('stopped.');
  process.exit(code);
}

// Before anything is started, so that Ctrl-C during start-up stops what was started so far.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal, 0));
onBrokenOutput((error) => void shutdown(`output closed (${error.code ?? error.message})`, 0));
watchLaunchers((pid) => void shutdown(`process ${pid}, which launched this one, is gone`, 0));

function readOptions(): StartOptions {
  try {
    const parsed = parseStartOptions(process.argv.slice(2), {
      cwd: process.env.INIT_CWD ?? process.cwd(),
      manifestPath: join(PROJECT_ROOT, 'fastly.toml'),
      logDir: join(PROJECT_ROOT, 'pushpin-logs'),
      env: process.env,
    });
    if (parsed === 'help') {
      say(START_USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    complain(`npm start: ${error.message}\n(npm start -- --help shows the options)`);
    process.exit(2);
  }
}

/** `npm run build` when bin/main.wasm is older than edge/ (a failed build leaves the old file in place). */
async function buildEdgeIfStale(logDir: string): Promise<void> {
  if (!edgeBuildIsStale()) return;
  say('building bin/main.wasm (npm run build)...');
  const build = await rebuildEdge({ keepDir: logDir });
  if (!build.ok) throw new Error(`npm run build failed (${build.status}):\n${build.output}`);
}

async function main(): Promise<void> {
  const options = readOptions();
  let stack: LocalStack;
  try {
    await buildEdgeIfStale(options.logDir);
    stack = await startLocalStack({
      manifestPath: options.manifestPath,
      ports: { edge: options.edgePort },
      logDir: options.logDir,
      echo: options.echo === 'none' ? false : options.echo === 'all' ? true : 'problems',
      edge: true,
      pushpinListenAll: options.pushpinListenAll,
      pushpinProfile: options.pushpinProfile,
      warn: (line) => complain(`npm start: ${line}`),
    });
  } catch (error) {
    if (stopping) return; // interrupted: shutdown() exits once everything is stopped
    complain(`\nnpm start: ${(error as Error).message}`);
    await stopEveryManagedProcess();
    process.exit(1);
  }
  if (stopping) return;

  const token = process.env.PUBLISH_TOKEN ?? DEV_PUBLISH_TOKEN;
  const logs = [stack.logFiles.edge, stack.logFiles.pushpin, stack.logFiles.origin].filter(Boolean).join(', ');
  const pushpinLines = stack.pushpin
    ? `  Pushpin proxy:         ${stack.urls.pushpinProxy}   (send "pushpin-route: origin")${options.pushpinListenAll ? '; on every interface' : ''}
  Pushpin publish:       ${stack.urls.pushpinPublish}/publish/
  Pushpin profile:       ${stack.pushpinProfile}   (${PUSHPIN_PROFILES[stack.pushpinProfile].summary}; --pushpin-profile)`
    : `  Pushpin:               off ([local_server.pushpin] enable = true runs it)`;
  say(`
Local stack is up.
  Edge (bin/main.wasm):  ${stack.urls.edge}   (the local Compute host, as \`fastly compute serve\`)
  Origin (direct):       ${stack.urls.origin}
${pushpinLines}
  Logs:                  ${logs}

Try it:
  curl -N ${stack.urls.edge}/events/demo
  curl -X POST -H 'Authorization: Bearer ${process.env.PUBLISH_TOKEN ? '$PUBLISH_TOKEN' : token}' -H 'Content-Type: application/json' \\
       -d '{"channel":"demo","data":{"text":"hello"}}' ${stack.urls.origin}/api/publish

Ctrl-C stops everything.`);

  if (!options.watch) {
    stack.onChildExit((name) => void shutdown(`${name} exited unexpectedly (see its log)`, 1));
    return;
  }
  // Watch mode: an origin or edge that crashed is started again by the next change; without Pushpin
  // nothing works, so its exit still stops the stack.
  stack.onChildExit((name, status) => {
    if (stopping) return;
    if (name === 'pushpin') void shutdown(`pushpin exited unexpectedly (see its log)`, 1);
    else complain(`watch: the ${name} exited (${status}); it starts again on the next change to ${name}/ (see its log)`);
  });
  const watch = watchStack({
    stack,
    root: PROJECT_ROOT,
    rebuildEdge: () => rebuildEdge({ keepDir: options.logDir }),
    redisHistory: Boolean(process.env.REDIS_URL),
    say,
    complain,
  });
  onShutdown(() => watch.close());
  await watch.ready;
  if (!stopping) say('watch: watching edge/ (rebuild and restart the edge) and origin/ (restart the origin).');
}

await main();
