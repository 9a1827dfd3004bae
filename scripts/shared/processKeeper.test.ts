// The process keeper with real processes: what it stops, when, and what it reports.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProcessStartError, startManagedProcess, stopEveryManagedProcess } from './managedProcess.ts';
import { descendantsOf, isAlive, parentAndGroup, signal } from './processTree.mjs';

const KEEPER = fileURLToPath(new URL('./processKeeper.mjs', import.meta.url));
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await settle(20);
  }
  return Date.now() - start;
}

describe('process keeper', () => {
  it('runs the child in a group of its own under the keeper, and stops it with SIGTERM', async () => {
    const child = await startManagedProcess({ name: 'sleeper', command: 'sh', args: ['-c', 'echo up; exec sleep 30'], ready: /up/ });
    expect(parentAndGroup(child.pid)).toEqual({ ppid: child.keeperPid, pgid: child.pid });
    expect(parentAndGroup(child.keeperPid)?.ppid).toBe(process.pid);
    await child.stop();
    expect(await child.exited).toBe('SIGTERM');
    expect(isAlive(child.pid)).toBe(false);
    expect(isAlive(child.keeperPid)).toBe(false);
  });

  it('SIGKILLs a child that ignores SIGTERM once the grace period is over', async () => {
    const child = await startManagedProcess({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', 'trap "" TERM; echo up; while :; do sleep 0.1; done'],
      ready: /up/,
    });
    const started = Date.now();
    await child.stop(400);
    const took = Date.now() - started;
    expect(await child.exited).toBe('SIGKILL');
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(5000);
    expect(descendantsOf(child.pid)).toEqual([]);
  });

  it('stops what the child left in other groups when the child dies by itself, and reports its exit code', async () => {
    // The grandchild leaves the group (as Pushpin's services do); the child exits after the keeper's
    // periodic look at its descendants has seen it.
    const child = await startManagedProcess({
      name: 'leaver',
      command: 'sh',
      args: ['-c', 'setsid sleep 30 & echo "grandchild $!"; sleep 1.5; exit 3'],
      ready: /grandchild \d+/,
    });
    const grandchild = Number(/grandchild (\d+)/.exec(child.recentOutput())![1]);
    expect(isAlive(grandchild)).toBe(true);
    expect(await child.exited).toBe(3);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('stops what a SIGKILLed child left in groups of their own at once, before any periodic look at its descendants', async () => {
    // As Pushpin's runner does: services in process groups of their own (bash job control), here one
    // a direct child and one whose parent (a subshell) exits at once, so that it is never a descendant
    // of the child at any moment the keeper could look. Both stay in the child's session.
    const child = await startManagedProcess({
      name: 'runner',
      command: 'bash',
      args: ['-c', 'set -m; sleep 30 >/dev/null 2>&1 & echo "service $!"; (sleep 30 >/dev/null 2>&1 & echo "service $!"); echo up; wait'],
      ready: /^up$/m,
    });
    const services = [...child.recentOutput().matchAll(/service (\d+)/g)].map((match) => Number(match[1]));
    expect(services).toHaveLength(2);
    for (const pid of services) {
      expect(isAlive(pid)).toBe(true);
      expect(parentAndGroup(pid)?.pgid).not.toBe(child.pid);
    }
    try {
      signal(child.pid, 'SIGKILL'); // well before the keeper's first periodic look (1 s after spawn)
      expect(await child.exited).toBe('SIGKILL');
      // The keeper reports the exit once the leftovers are gone: nothing may be left by then.
      expect(services.filter(isAlive)).toEqual([]);
      expect(isAlive(child.keeperPid)).toBe(false);
    } finally {
      for (const pid of services) signal(pid, 'SIGKILL');
    }
  });

  it('reports a command that cannot be started', async () => {
    await expect(startManagedProcess({ name: 'missing', command: '/nonexistent/command', args: [], ready: /never/ })).rejects.toThrow(
      /missing did not start \(spawn error: spawn \/nonexistent\/command ENOENT\)/,
    );
  });

  it('stops the child within the grace period when its owner is SIGKILLed', async () => {
    // An owner speaking the keeper's protocol directly, so that it can be SIGKILLed without killing us.
    const owner = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn } = require('node:child_process');
         const keeper = spawn(process.execPath, [process.argv[1], 'owned'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
         keeper.on('message', (m) => { if (m.type === 'spawned') console.log('CHILD ' + m.pid + ' KEEPER ' + keeper.pid); });
         keeper.send({ type: 'start', command: 'sh', args: ['-c', 'trap "" TERM; while :; do sleep 0.1; done'], graceMs: 300 });`,
        KEEPER,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    owner.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    let pids: number[] = [];
    try {
      await until(() => /CHILD \d+ KEEPER \d+/.test(text), 10_000);
      const [, childPid, keeperPid] = /CHILD (\d+) KEEPER (\d+)/.exec(text)!.map(Number) as [number, number, number];
      pids = [childPid, keeperPid];
      owner.kill('SIGKILL');
      const took = await until(() => !isAlive(childPid) && !isAlive(keeperPid), 5000);
      expect(took).toBeGreaterThanOrEqual(250); // it had its grace period (it ignores SIGTERM)
    } finally {
      owner.kill('SIGKILL');
      for (const pid of pids) signal(pid, 'SIGKILL');
    }
  });

  it('keeps lines whole in recentOutput when they come in pieces, per stream, the last unfinished one too', async () => {
    const child = await startManagedProcess({
      name: 'pieces',
      command: 'sh',
      args: ['-c', "printf 'first ha'; printf 'err ' >&2; sleep 0.3; printf 'lf\\n'; printf 'line\\n' >&2; printf 'no newline'"],
      ready: async () => true,
    });
    await child.exited;
    expect(child.recentOutput().split('\n').sort()).toEqual(['err line', 'first half', 'no newline']);
  });

  it('with stopLeaderOnly, sends the stop signal to the child alone and lets it stop its own children', async () => {
    // A launcher (as the Fastly CLI is) whose child shares its group: on SIGINT it stops that child
    // itself, with SIGTERM. The child would say so if the keeper had signalled the group with SIGINT.
    const script = [
      // node, not sh: a background job of a non-interactive sh ignores SIGINT and cannot trap it.
      `'${process.execPath}' -e 'process.on("SIGINT", () => console.log("worker got INT")); process.on("SIGTERM", () => { console.log("worker got TERM"); process.exit(0); }); console.log("worker up"); setInterval(() => {}, 1000);' &`,
      'worker=$!',
      'trap \'echo launcher got INT; kill -TERM $worker; wait $worker; exit 0\' INT',
      'while :; do sleep 0.05; done',
    ].join('\n');
    const child = await startManagedProcess({
      name: 'launcher',
      command: 'sh',
      args: ['-c', script],
      ready: /worker up/,
      stopSignal: 'SIGINT',
      stopLeaderOnly: true,
    });
    await child.stop();
    expect(await child.exited).toBe(0);
    expect(child.recentOutput()).toMatch(/launcher got INT/);
    expect(child.recentOutput()).toMatch(/worker got TERM/);
    expect(child.recentOutput()).not.toMatch(/worker got INT/);
    expect(descendantsOf(child.pid)).toEqual([]);
  });

  it("with output 'inherit', needs a probe for readiness, and keeps no output of its own", async () => {
    await expect(startManagedProcess({ name: 'x', command: 'true', args: [], ready: /never/, output: 'inherit' })).rejects.toThrow(/readiness must be a probe/);
    const child = await startManagedProcess({ name: 'quiet', command: 'sh', args: ['-c', 'exit 4'], ready: async () => true, output: 'inherit' });
    expect(await child.exited).toBe(4);
    expect(child.recentOutput()).toBe('');
  });

  // Last: it leaves this process refusing to start more.
  it('stopEveryManagedProcess stops them all in parallel and refuses to start more', async () => {
    const stubborn = (name: string) =>
      startManagedProcess({ name, command: 'sh', args: ['-c', 'trap "" TERM; echo up; while :; do sleep 0.1; done'], ready: /up/ });
    const children = await Promise.all([stubborn('a'), stubborn('b'), stubborn('c')]);
    const started = Date.now();
    await stopEveryManagedProcess(1500);
    // One grace period in all (1.5 s), not one per child (4.5 s); the rest is slack for a busy machine.
    expect(Date.now() - started).toBeLessThan(4000);
    for (const child of children) expect(isAlive(child.pid)).toBe(false);
    await expect(stubborn('late')).rejects.toThrow(ProcessStartError);
  });
});
