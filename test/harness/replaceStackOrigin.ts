// A test stack's origin stopped and another started on its port, while Pushpin (and the edge) keep
// running and keep holding the clients the first one let in.
import { dirname } from 'node:path';
import { isAlive } from '../../scripts/shared/managedProcess.ts';
import { startExtraOrigin, type ExtraOrigin } from './originProcess.ts';
import type { TestStack } from './testStack.ts';

/** SIGTERM to the stack's origin, then (once it has exited, or after 5 s) `name` with `env` on its port. */
export async function replaceStackOrigin(stack: TestStack, name: string, env: Record<string, string>): Promise<ExtraOrigin> {
  process.kill(stack.pids.origin, 'SIGTERM');
  for (let waited = 0; isAlive(stack.pids.origin) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return startExtraOrigin({
    name,
    pushpinPublishUrl: stack.urls.pushpinPublish,
    logDir: dirname(stack.logFiles.origin),
    port: stack.ports.origin,
    env: { PUBLISH_TOKEN: stack.publishToken, ...env },
  });
}
