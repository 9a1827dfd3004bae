// The local stack leaves nothing behind, and refuses to start on a taken port.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../scripts/stack/localStack.ts';
import { descendantsOf, isAlive } from '../scripts/stack/managedProcess.ts';
import { findFreePort, findFreePortRange } from '../scripts/stack/ports.ts';
import { startTestStack } from './harness/testStack.ts';


describe('local stack lifecycle', () => {
  it('stops Pushpin, its services and the origin', async () => {
    const stack = await startTestStack();
    let members: number[] = [];
    try {
      members = [stack.pids.pushpin, ...descendantsOf(stack.pids.pushpin), stack.pids.origin];
      // Pushpin's runner with condure, zurl, proxy and handler, plus the origin.
      expect(members.length).toBeGreaterThanOrEqual(6);
    } finally {
      await stack.stop();
    }
    for (const pid of members) expect(isAlive(pid), `pid ${pid} still running`).toBe(false);
    await expect(fetch(`${stack.urls.origin}/healthz`)).rejects.toThrow();
    await expect(fetch(stack.urls.pushpinProxy)).rejects.toThrow();
  });

  it('fails clearly when a port is taken', async () => {
    const blocker = createServer();
    const taken = await findFreePort();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    try {
      await expect(
        startLocalStack({
          ports: { origin: taken, pushpinProxy: await findFreePort(), pushpinPublish: await findFreePortRange(4) },
          log: () => {},
        }),
      ).rejects.toThrow(new RegExp(`port already in use: ${taken} \\(origin\\)`));
    } finally {
      blocker.close();
    }
  });
});
