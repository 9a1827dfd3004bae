// The local stack leaves nothing behind, also when whatever started it is killed, and refuses to start
// on a taken port.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../../scripts/stack/localStack.ts';
import { descendantsOf, isAlive } from '../../scripts/shared/managedProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { EDGE_WASM } from '../../scripts/compute-host/edgeBuild.ts';
import { commandOf, cpuSeconds, isAliveNotZombie, outcome, waitUntilGone } from '../harness/npmStart.ts';
import { runSlots } from '../harness/runSlots.ts';
import { startTestStack } from '../harness/testStack.ts';

const ORPHAN_BOUND_MS = 5000;

function describeTree(pids: number[]): string {
  return pids.map((pid) => `${pid} ${commandOf(pid).slice(0, 100)}`).join('\n');
}

function killQuietly(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

// Each case but the last starts a test stack of its own on its own ports (or a vitest of its own): they
// run concurrently, three at a time. The last measures a process's CPU time, which other work beside it
// would hide: it runs after them.
const inSlot = runSlots(3);

describe('local stack lifecycle', () => {
  describe.concurrent('each with its own stack', () => {
    it('stops Pushpin, its services and the origin', ({ expect }) =>
      inSlot(async () => {
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
      }));

    it('restarts Pushpin on its ports, leaving none of the old processes', ({ expect }) =>
      inSlot(async () => {
        const stack = await startTestStack();
        try {
          const old = [stack.pids.pushpin, ...descendantsOf(stack.pids.pushpin)];
          const pid = await stack.restart('pushpin');
          expect(stack.pids.pushpin).toBe(pid);
          expect(old).not.toContain(pid);
          for (const p of old) expect(isAlive(p), `old pid ${p} still running`).toBe(false);
          // The new one proxies to the origin and takes its publishes, where both expect it.
          const proxied = await fetch(`${stack.urls.pushpinProxy}/healthz`, { headers: { 'pushpin-route': 'origin' } });
          expect(proxied.status).toBe(200);
          expect((await stack.publish({ channel: 'after-restart', data: 1 })).status).toBe(200);
          await proxied.text();
        } finally {
          await stack.stop();
        }
      }));

    it('restarts the origin after keeping it down for `downMs`: refused in between, answering after', ({ expect }) =>
      inSlot(async () => {
        const stack = await startTestStack();
        try {
          const old = stack.pids.origin;
          const restarted = stack.restart('origin', { downMs: 4000 });
          while (isAlive(old)) await new Promise((r) => setTimeout(r, 20));
          const goneAt = Date.now();
          // 2 s after the old one is gone a new origin would be up (it starts in about 1 s here); kept
          // down, nothing answers on its port.
          await new Promise((r) => setTimeout(r, 2000));
          await expect(fetch(`${stack.urls.origin}/healthz`)).rejects.toThrow();
          const pid = await restarted;
          expect(Date.now() - goneAt).toBeGreaterThanOrEqual(3900);
          expect(pid).not.toBe(old);
          expect((await fetch(`${stack.urls.origin}/healthz`)).status).toBe(200);
        } finally {
          await stack.stop();
        }
      }));

    it("stop() during a restart's down time ends it at once: the restart rejects and nothing is started", ({ expect }) =>
      inSlot(async () => {
        const stack = await startTestStack();
        const old = stack.pids.origin;
        // Far longer than the test's timeout: stop() must not wait it out.
        const outcome = stack.restart('origin', { downMs: 120_000 }).then(
          () => 'restarted',
          (error: unknown) => String(error),
        );
        while (isAlive(old)) await new Promise((r) => setTimeout(r, 20));
        await stack.stop();
        expect(await outcome).toMatch(/origin not restarted: the stack is stopping/);
        await expect(fetch(`${stack.urls.origin}/healthz`)).rejects.toThrow();
      }));

    it('fails clearly when a port is taken', ({ expect }) =>
      inSlot(async () => {
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
      }));

    it('a SIGKILLed vitest worker leaves nothing: its test stack, Redis and extra origin exit within 5 s', ({ expect }) =>
      inSlot(async () => {
        const out = join(mkdtempSync(join(tmpdir(), 'lifecycle-fixture-')), 'pids.json');
        const runner = spawn(
          process.execPath,
          [join(PROJECT_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/lifecycle/vitest.config.ts'],
          { cwd: PROJECT_ROOT, env: { ...process.env, LIFECYCLE_FIXTURE_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
        );
        let output = '';
        runner.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        runner.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        let members: number[] = [];
        try {
          const deadline = Date.now() + 120_000;
          while (!existsSync(out) || readFileSync(out, 'utf8') === '') {
            if (runner.exitCode !== null || Date.now() > deadline) throw new Error(`the fixture did not start:\n${output}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const { worker, ports } = JSON.parse(readFileSync(out, 'utf8')) as { worker: number; ports: number[] };
          members = descendantsOf(worker);
          // Redis, Pushpin's runner and 4 services, two origins, the edge (and their helpers).
          expect(members.length, describeTree(members)).toBeGreaterThanOrEqual(9);
          const sent = Date.now();
          process.kill(worker, 'SIGKILL');
          const gone = await waitUntilGone(members, ports, ORPHAN_BOUND_MS + 5000);
          console.log(`SIGKILL of a vitest worker: ${outcome(gone)} (${members.length} processes) ${Date.now() - sent} ms after the SIGKILL`);
          expect(gone.alive, `still running ${gone.elapsedMs} ms later:\n${describeTree(gone.alive)}`).toEqual([]);
          expect(gone.busyPorts).toEqual([]);
          expect(gone.elapsedMs).toBeLessThanOrEqual(ORPHAN_BOUND_MS);
        } finally {
          killQuietly([...members, -runner.pid!]);
        }
      }), 180_000);

    it("Pushpin's services do not outlive its runner when the runner is SIGKILLed", ({ expect }) =>
      inSlot(async () => {
        const stack = await startTestStack();
        const services = descendantsOf(stack.pids.pushpin);
        try {
          expect(services.length, describeTree(services)).toBeGreaterThanOrEqual(4);
          process.kill(stack.pids.pushpin, 'SIGKILL');
          const gone = await waitUntilGone(services, [stack.ports.pushpinProxy, stack.ports.pushpinPublish], ORPHAN_BOUND_MS + 5000);
          expect(gone.alive, describeTree(gone.alive)).toEqual([]);
          expect(gone.elapsedMs).toBeLessThanOrEqual(ORPHAN_BOUND_MS);
        } finally {
          killQuietly(services);
          await stack.stop();
        }
      }));
  });

  it('the compute host, orphaned with its output pipe closed, does not spin on EPIPE', async () => {
    const port = await findFreePort();
    // A parent that reads the host's output through pipes, as the stack does, and is then SIGKILLed.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const host = spawn(process.argv[1], process.argv.slice(2), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      host.stdout.on('data', (d) => { if (/Listening on/.test(String(d))) console.log('HOST ' + host.pid); });
      host.stderr.on('data', () => {});
      setInterval(() => {}, 1000);`;
    const parent = spawn(
      process.execPath,
      ['-e', parentScript, join(PROJECT_ROOT, 'scripts/compute-host/viceroy'), '-v', '-C', join(PROJECT_ROOT, 'fastly.toml'), '--addr', `127.0.0.1:${port}`, EDGE_WASM],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let hostPid: number | undefined;
    try {
      hostPid = await new Promise<number>((resolve, reject) => {
        let text = '';
        parent.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /HOST (\d+)/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        parent.once('exit', () => reject(new Error(`the parent exited first: ${text}`)));
        setTimeout(() => reject(new Error(`the host did not start: ${text}`)), 60_000).unref();
      });
      parent.kill('SIGKILL');
      await new Promise((resolve) => parent.once('exit', resolve));
      // Requests make the host log (-v) into the pipe nobody reads any more.
      // (A host spinning on EPIPE may never answer, hence the timeout.)
      for (let i = 0; i < 3; i++) {
        await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
      }
      const before = isAliveNotZombie(hostPid) ? cpuSeconds(hostPid) : 0;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const used = isAliveNotZombie(hostPid) ? cpuSeconds(hostPid) - before : 0;
      console.log(`orphaned compute host with a closed stdout: ${used.toFixed(2)} CPU-s in 3 s, ${isAliveNotZombie(hostPid) ? 'still running' : 'exited'}`);
      expect(used).toBeLessThan(0.5);
    } finally {
      killQuietly([parent.pid!, ...(hostPid ? [hostPid] : [])]);
    }
  }, 90_000);
});
