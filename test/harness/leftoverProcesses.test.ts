import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killLeftovers, processesOfRun, TEST_RUN_VARIABLE } from './leftoverProcesses.ts';

describe('leftover process safety net', () => {
  it('finds and kills a process that carries the run id, and nothing else', async () => {
    const id = `unit-${process.pid}-${Date.now()}`;
    const marked = spawn('sleep', ['30'], { env: { ...process.env, [TEST_RUN_VARIABLE]: id }, stdio: 'ignore' });
    const unmarked = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(processesOfRun(id).map((p) => p.pid)).toEqual([marked.pid]);
      const exited = new Promise((r) => marked.once('exit', r));
      const lines: string[] = [];
      killLeftovers(id, (line) => lines.push(line));
      await exited;
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/sleep 30/);
      expect(processesOfRun(id)).toEqual([]);
      expect(unmarked.exitCode).toBeNull();
    } finally {
      marked.kill('SIGKILL');
      unmarked.kill('SIGKILL');
    }
  });
});
