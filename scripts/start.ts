// `npm start`: the local stack in the foreground. Ctrl-C (or SIGTERM) stops every child.
import { startLocalStack } from './stack/localStack.ts';
import { ensureEdgeBuilt } from './compute-host/edgeBuild.ts';
import { DEV_PUBLISH_TOKEN } from '../origin/config/originConfig.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`Usage: npm start [-- --quiet]

Starts the local stack from fastly.toml: the edge (bin/main.wasm on the local Compute host, 7676),
Pushpin (proxy 7677, publish 5561), the origin (3000). bin/main.wasm is rebuilt when edge/ is newer.
Logs go to ./pushpin-logs/. Environment for the origin (PUBLISH_TOKEN, HISTORY_*, REDIS_URL, ...) is passed on.`);
  process.exit(0);
}

const echo = !process.argv.includes('--quiet');
let stack;
try {
  ensureEdgeBuilt();
  stack = await startLocalStack({ echo, edge: true });
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
