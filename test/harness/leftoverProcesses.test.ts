import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killLeftovers, processesOfRun, TEST_RUN_VARIABLE } from './leftoverProcesses.ts';

describe('leftover process safety net', () => {
  it('kills a marked grandchild, and spares direct children (the runner workers) and unmarked processes', async () => {
    const id = `unit-${process.pid}-${Date.now()}`;
    // The shell is a direct child, like a test worker; its `sleep` is a grandchild, like a leaked stack.
    const shell = spawn('sh', ['-c', 'sleep 30 & wait'], { env: { ...process.env, [TEST_RUN_VARIABLE]: id }, stdio: 'ignore' });
    const unmarked = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const found = processesOfRun(id);
      expect(found).toHaveLength(1);
      expect(found[0]!.command).toBe('sleep 30');
      expect(found[0]!.pid).not.toBe(shell.pid);
      const shellExited = new Promise((r) => shell.once('exit', r));
      const lines: string[] = [];
      killLeftovers(id, (line) => lines.push(line));
      await shellExited; // its `wait` returns once the sleep was killed
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/sleep 30/);
      expect(processesOfRun(id)).toEqual([]);
      expect(unmarked.exitCode).toBeNull();
    } finally {
      shell.kill('SIGKILL');
      unmarked.kill('SIGKILL');
    }
  });
});
