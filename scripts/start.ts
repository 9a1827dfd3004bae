// `npm start`: the local stack in the foreground. Ctrl-C (or SIGTERM) stops every child.
import { join } from 'node:path';
import { startLocalStack } from './stack/localStack.ts';
import { PROJECT_ROOT } from './stack/projectRoot.ts';
import { parseStartOptions, START_USAGE, UsageError, type StartOptions } from './stack/startOptions.ts';
import { ensureEdgeBuilt } from './compute-host/edgeBuild.ts';
import { DEV_PUBLISH_TOKEN } from '../origin/config/originConfig.ts';

let options: StartOptions;
try {
  const parsed = parseStartOptions(process.argv.slice(2), {
    cwd: process.env.INIT_CWD ?? process.cwd(),
    manifestPath: join(PROJECT_ROOT, 'fastly.toml'),
    logDir: join(PROJECT_ROOT, 'pushpin-logs'),
  });
  if (parsed === 'help') {
    console.log(START_USAGE);
    process.exit(0);
  }
  options = parsed;
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`npm start: ${error.message}\n(npm start -- --help shows the options)`);
  process.exit(2);
}

let stack;
try {
  ensureEdgeBuilt();
  stack = await startLocalStack({
    manifestPath: options.manifestPath,
    ports: { edge: options.edgePort },
    logDir: options.logDir,
    echo: !options.quiet,
    edge: true,
  });
} catch (error) {
  console.error(`\nnpm start: ${(error as Error).message}`);
  process.exit(1);
}
const token = process.env.PUBLISH_TOKEN ?? DEV_PUBLISH_TOKEN;
console.log(`
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

let stopping = false;
const shutdown = async (reason: string, code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${reason}; stopping the stack...`);
  await stack.stop();
  console.log('stopped.');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGHUP', () => void shutdown('SIGHUP', 0));
void stack.childExited.then((name) => shutdown(`${name} exited unexpectedly (see its log)`, 1));
