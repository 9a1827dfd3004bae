// A Pushpin whose publish port another process holds does not pass for started. Pushpin 1.36's handler
// logs nothing and carries on when it cannot bind that port, so its readiness wait saw the other
// process's listener, and its publishes were refused once that one was gone (what a fault test met
// when two test files had picked the same port).
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { descendantsOf } from '../../scripts/shared/processTree.mjs';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

describe('Pushpin on a port another process holds', () => {
  it('fails to start, naming the port, and leaves nothing running', async () => {
    const publishPort = await findFreePortRange(4);
    const squatter = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => squatter.listen(publishPort, '127.0.0.1', resolve));
    onTestFinished(() => void squatter.close());
    const logDir = mkdtempSync(join(tmpdir(), 'pushpin-port-taken-'));
    const ourChildren = descendantsOf(process.pid);
    const start = startPushpin({
      backends: [{ name: 'origin', url: new URL('http://127.0.0.1:9') }],
      proxyPort: await findFreePort(),
      publishPort,
      profile: TEST_PUSHPIN_PROFILE,
      logDir,
      echo: false,
      log: () => {},
    });
    onTestFinished(async () => void (await start.then((pushpin) => pushpin.stop(), () => undefined)));
    await expect(start).rejects.toThrow(new RegExp(`another process listens on its port ${publishPort} \\(publish\\)`));
    // Pushpin itself said nothing about it: no warning or error names the port or a bind. (Other
    // warnings can appear: its proxy sometimes logs "received message out of sequence" for the
    // readiness probe, which a CI run met.)
    const complaints = readFileSync(join(logDir, 'pushpin.log'), 'utf8')
      .split('\n')
      .filter((line) => /\[(ERR|WARN)\]/.test(line))
      .filter((line) => new RegExp(`in use|bind|listen|:${publishPort}\\b`, 'i').test(line));
    expect(complaints).toEqual([]);
    expect(descendantsOf(process.pid).filter((pid) => !ourChildren.includes(pid))).toEqual([]);
  });
});
