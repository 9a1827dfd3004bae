// A child process the local stack owns: started in its own process group so stopping it also stops
// everything it spawned (Pushpin's runner starts four more), logged to a file, and awaited until ready.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolves readiness: a pattern in the output, or a probe polled until it answers true. */
  ready: RegExp | (() => Promise<boolean>);
  readyTimeoutMs?: number;
  /** Output goes here (appended); also kept in memory for error messages. */
  logFile?: string;
  /** Also copy output to this process's stdout, prefixed with the name. */
  echo?: boolean;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string | undefined;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** The last lines of output, for error messages. */
  recentOutput(): string;
  stop(timeoutMs?: number): Promise<void>;
}

const TAIL_LINES = 60;

/** Every live descendant of `pid` (children may sit in process groups of their own, as Pushpin's do). */
export function descendantsOf(pid: number): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (!child || parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

export class ProcessStartError extends Error {
  override name = 'ProcessStartError';
}

export async function startManagedProcess(options: ManagedProcessOptions): Promise<ManagedProcess> {
  let log: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: 'a' });
  }
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const tail: string[] = [];
  let outputSoFar = '';
  const lineWaiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    if (log && !log.writableEnded) log.write(text);
    if (options.echo) {
      for (const line of text.split('\n')) if (line) process.stdout.write(`[${options.name}] ${line}\n`);
    }
    outputSoFar = (outputSoFar + text).slice(-65536);
    tail.push(...text.split('\n').filter(Boolean));
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    for (const wake of lineWaiters) wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const exited = new Promise<number | string>((resolvePromise) => {
    child.once('exit', (code, signal) => resolvePromise(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      onData(Buffer.from(`${error.message}\n`));
      resolvePromise(`spawn error: ${error.message}`);
    });
  });
  void exited.then(() => {
    for (const wake of lineWaiters) wake();
  });
  // 'exit' can come before the last output is read; the log ends once every stdio stream closed.
  child.once('close', () => log?.end());
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const recentOutput = (): string => tail.join('\n');
  const stop = async (timeoutMs = 5000): Promise<void> => {
    if (hasExited || child.pid === undefined) return;
    const leader = child.pid;
    // Snapshot the tree first: once the leader is gone its children are re-parented and lost to us.
    const descendants = descendantsOf(leader);
    signal(-leader, 'SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') signal(-leader, 'SIGKILL');
    await exited;
    // A well-behaved leader (Pushpin's runner) stops its children itself; give them a moment, then
    // make sure none remains.
    const deadline = Date.now() + 2000;
    let alive = descendants.filter(isAlive);
    while (alive.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      alive = alive.filter(isAlive);
    }
    for (const pid of alive) signal(pid, 'SIGKILL');
    signal(-leader, 'SIGKILL');
  };

  const timeoutMs = options.readyTimeoutMs ?? 15000;
  const deadline = Date.now() + timeoutMs;
  const fail = async (why: string): Promise<never> => {
    await stop(1000);
    const where = options.logFile ? ` (log: ${options.logFile})` : '';
    throw new ProcessStartError(`${options.name} ${why}${where}\n${recentOutput()}`);
  };

  if (options.ready instanceof RegExp) {
    const pattern = options.ready;
    while (!pattern.test(outputSoFar)) {
      if (hasExited) return fail(`exited before it was ready (${await exited})`);
      if (Date.now() > deadline) return fail(`was not ready within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const wake = (): void => {
          lineWaiters.delete(wake);
          r();
        };
        lineWaiters.add(wake);
        setTimeout(wake, 100).unref();
      });
    }
  } else {
    const probe = options.ready;
    while (!(await probe().catch(() => false))) {
      if (hasExited) return fail(`exited before it was ready (${await exited})`);
      if (Date.now() > deadline) return fail(`was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (child.pid === undefined) return fail('did not start');
  return { name: options.name, pid: child.pid, logFile: options.logFile, exited, recentOutput, stop };
}
