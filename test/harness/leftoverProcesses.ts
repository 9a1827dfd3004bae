// A safety net for the "no process left behind" promise: every process a test run starts inherits a
// run id in its environment; after the run, any that is still alive (a test file that crashed before
// its afterAll, say) is found through /proc and killed, and named so the leak gets fixed.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export const TEST_RUN_VARIABLE = 'FANOUT_FORWARD_TEST_RUN';

/** Marks this process's environment, which the test workers and everything they spawn inherit. */
export function markTestRun(): string {
  const id = randomUUID();
  process.env[TEST_RUN_VARIABLE] = id;
  return id;
}

function parentOf(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so read after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * Live processes whose environment carries the run id, except this one and its direct children (the
 * test runner's own workers, which it is still shutting down).
 */
export function processesOfRun(id: string): Array<{ pid: number; command: string }> {
  const marker = `${TEST_RUN_VARIABLE}=${id}`;
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(marker) || parentOf(pid) === process.pid) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid, command });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

export function killLeftovers(id: string, log: (line: string) => void): void {
  for (const { pid, command } of processesOfRun(id)) {
    log(`test run left pid ${pid} running (${command.slice(0, 120)}); killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
