// `npm start`: the local stack in the foreground, until Ctrl-C, SIGTERM or SIGHUP, until nobody reads
// its output any more, or until npm (whatever launched it) is gone. Every child runs under a process
// keeper, so it also stops when this process is SIGKILLed. See "Process lifecycle" in README.md.
import { join } from 'node:path';
import { onBrokenOutput, outputIsOpen } from './stack/brokenOutput.ts';
import { watchLaunchers } from './stack/launcherWatch.ts';
import { startLocalStack, type LocalStack } from './stack/localStack.ts';
import { DEFAULT_STOP_GRACE_MS, startManagedProcess, stopEveryManagedProcess } from './stack/managedProcess.ts';
import { PROJECT_ROOT } from './stack/projectRoot.ts';
import { parseStartOptions, START_USAGE, UsageError, type StartOptions } from './stack/startOptions.ts';
import { edgeBuildIsStale } from './compute-host/edgeBuild.ts';
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
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`\n${reason}; stopping the stack...`);
  setTimeout(() => process.exit(code), HARD_EXIT_MS);
  await stopEveryManagedProcess();
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

/** `npm run build` when bin/main.wasm is older than edge/, as a managed process (a shutdown stops it). */
async function buildEdgeIfStale(): Promise<void> {
  if (!edgeBuildIsStale()) return;
  say('building bin/main.wasm (npm run build)...');
  const build = await startManagedProcess({
    name: 'build',
    command: 'npm',
    args: ['run', '--silent', 'build'],
    cwd: PROJECT_ROOT,
    ready: async () => true,
  });
  const result = await build.exited;
  if (result !== 0) throw new Error(`npm run build failed (${result}):\n${build.recentOutput()}`);
}

async function main(): Promise<void> {
  const options = readOptions();
  let stack: LocalStack;
  try {
    await buildEdgeIfStale();
    stack = await startLocalStack({
      manifestPath: options.manifestPath,
      ports: { edge: options.edgePort },
      logDir: options.logDir,
      echo: !options.quiet,
      edge: true,
    });
  } catch (error) {
    if (stopping) return; // interrupted: shutdown() exits once everything is stopped
    complain(`\nnpm start: ${(error as Error).message}`);
    await stopEveryManagedProcess();
    process.exit(1);
  }
  if (stopping) return;

  const token = process.env.PUBLISH_TOKEN ?? DEV_PUBLISH_TOKEN;
  say(`
Local stack is up.
  Edge (bin/main.wasm):  ${stack.urls.edge}   (the local Compute host, as \`fastly compute serve\`)
  Origin (direct):       ${stack.urls.origin}
  Pushpin proxy:         ${stack.urls.pushpinProxy}   (send "pushpin-route: origin")
  Pushpin publish:       ${stack.urls.pushpinPublish}/publish/
  Logs:                  ${stack.logFiles.edge}, ${stack.logFiles.pushpin}, ${stack.logFiles.origin}

Try it:
  curl -N ${stack.urls.edge}/events/demo
  curl -X POST -H 'Authorization: Bearer ${process.env.PUBLISH_TOKEN ? '$PUBLISH_TOKEN' : token}' -H 'Content-Type: application/json' \\
       -d '{"channel":"demo","data":{"text":"hello"}}' ${stack.urls.origin}/api/publish

Ctrl-C stops everything.`);
  void stack.childExited.then((name) => shutdown(`${name} exited unexpectedly (see its log)`, 1));
}

await main();
