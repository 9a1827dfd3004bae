// Whether a benchmark leaves processes behind: after a run it finished, and after one killed mid-run
// (every process it started - keepers, Pushpin's runner and services, origins, load processes - must
// stop with it, also when it gets no chance to stop them itself).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendantsOf, isAlive } from '../../scripts/shared/processTree.mjs';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

/** This process's descendants still in /proc: after a benchmark run in this process, none should be. */
export function descendantsStillHere(): number[] {
  return descendantsOf(process.pid).filter((pid) => existsSync(`/proc/${pid}`));
}

export interface BenchKill {
  /** The benchmark (`npm run bench -- <bench>`) and its flags; `--out` (a fresh temporary folder) is added. */
  bench: string;
  args: string[];
  /** The temporary output folder's name prefix. */
  outPrefix: string;
  /** Output that shows the run got going (waited for up to 60 s), then `settleMs` more before the kill. */
  going: RegExp;
  settleMs: number;
  signal: NodeJS.Signals;
}

/**
 * Runs the benchmark as a child process (node --import tsx scripts/bench/run.ts), kills it with
 * `signal` once it got going, and returns the processes it had started then and those of them still
 * alive 10 s after it exited.
 */
export async function killBenchMidRun(kill: BenchKill): Promise<{ started: number[]; alive: number[] }> {
  const out = mkdtempSync(join(tmpdir(), kill.outPrefix));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/run.ts', kill.bench, ...kill.args, '--out', out], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!kill.going.test(output)) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the benchmark did not get going:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, kill.settleMs));
  const started = descendantsOf(child.pid!);
  child.kill(kill.signal);
  await exited;
  const until = Date.now() + 10_000;
  let alive = started.filter((pid) => isAlive(pid));
  while (alive.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    alive = started.filter((pid) => isAlive(pid));
  }
  return { started, alive };
}
