import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { descendantsOf, isAlive, listeningPortsOf, parentAndGroup, sessionMembers, signal } from './processTree.mjs';

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('process tree', () => {
  it('finds descendants across process groups, and tells the living from the dead and the zombies', async () => {
    // sh -> (sleep in a session of its own, as Pushpin's services sit in groups of their own) + sleep
    const shell = spawn('sh', ['-c', 'setsid sleep 30 & sleep 30 & wait'], { stdio: 'ignore', detached: true });
    try {
      await settle(300);
      const found = descendantsOf(shell.pid!);
      expect(found).toHaveLength(2);
      for (const pid of found) expect(isAlive(pid)).toBe(true);
      expect(parentAndGroup(found[0]!)?.ppid).toBe(shell.pid);
      expect(parentAndGroup(shell.pid!)).toEqual({ ppid: process.pid, pgid: shell.pid });
      const groups = found.map((pid) => parentAndGroup(pid)!.pgid);
      expect(new Set(groups).size).toBe(2);
      for (const pid of found) expect(signal(pid, 'SIGKILL')).toBe(true);
      await new Promise((resolve) => shell.once('exit', resolve));
      for (const pid of found) expect(isAlive(pid)).toBe(false);
      expect(signal(found[0]!, 'SIGTERM')).toBe(false);
      expect(parentAndGroup(found[0]!)).toBeUndefined();
    } finally {
      signal(-shell.pid!, 'SIGKILL');
    }
  });

  it('lists the members of a session, whatever their group, and not those that left it', async () => {
    // detached: the shell leads a session of its own; one sleep moves to a group of its own (job
    // control), one leaves the session (setsid).
    // (setsid first: outside job control the job leads no group, so setsid(1) does not fork.)
    const shell = spawn('bash', ['-c', 'setsid sleep 30 & echo "left $!"; set -m; sleep 30 & echo "group $!"; wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    let text = '';
    shell.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    try {
      while (!/group \d+/.test(text)) await settle(20);
      const grouped = Number(/group (\d+)/.exec(text)![1]);
      const left = Number(/left (\d+)/.exec(text)![1]);
      // until setsid(1) has called setsid (and exec'd sleep)
      for (let waited = 0; sessionMembers(left)?.[0] !== left && waited < 5000; waited += 20) await settle(20);
      expect(sessionMembers(left)).toEqual([left]);
      expect(parentAndGroup(grouped)?.pgid).toBe(grouped);
      expect(sessionMembers(shell.pid!)?.sort()).toEqual([shell.pid!, grouped].sort());
      expect(sessionMembers(shell.pid!)).not.toContain(left);
      signal(-shell.pid!, 'SIGKILL');
      signal(grouped, 'SIGKILL');
      signal(left, 'SIGKILL');
      await new Promise((resolve) => shell.once('exit', resolve));
      for (let waited = 0; sessionMembers(shell.pid!)?.length !== 0 && waited < 5000; waited += 20) await settle(20);
      expect(sessionMembers(shell.pid!)).toEqual([]);
    } finally {
      signal(-shell.pid!, 'SIGKILL');
      for (const match of text.matchAll(/(?:group|left) (\d+)/g)) signal(Number(match[1]), 'SIGKILL');
    }
  });

  it.runIf(process.platform === 'linux')('tells the ports a process listens on from those others hold', async () => {
    const child = spawn(process.execPath, ['-e', "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); })"], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const port = await new Promise<number>((resolve) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /PORT (\d+)/.exec(text);
          if (match) resolve(Number(match[1]));
        });
      });
      expect(listeningPortsOf([child.pid!])).toEqual(new Set([port]));
      expect(listeningPortsOf([process.pid])?.has(port)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('counts a zombie as gone', async () => {
    // The child exits at once; its status is not collected while this test blocks the event loop.
    const child = spawn('true', [], { stdio: 'ignore' });
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // busy on purpose: no libuv turn, so the child stays a zombie
    }
    expect(() => process.kill(child.pid!, 0)).not.toThrow(); // still in the process table
    expect(isAlive(child.pid!)).toBe(false);
    await new Promise((resolve) => child.once('exit', resolve));
  });
});
