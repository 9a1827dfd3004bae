// A child process the local stack owns: run under a process keeper (processKeeper.mjs) that puts it in a
// process group of its own and stops it, and everything it spawned (Pushpin's runner starts four more),
// when asked or when this process is gone, however it ended (SIGKILL included). Output is logged to a
// file and kept for error messages; startManagedProcess waits until the child is ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { descendantsOf, isAlive, signal } from './processTree.mjs';

export { descendantsOf, isAlive };

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
  /** Also copy output to this process's stdout, prefixed with the name: every line, or those a filter takes. */
  echo?: boolean | ((line: string) => boolean);
  /** How long the child gets between SIGTERM and SIGKILL (default DEFAULT_STOP_GRACE_MS). */
  stopGraceMs?: number;
  /**
   * What stopping sends first (default SIGTERM, to the child's process group). With
   * `stopLeaderOnly`, to the child alone, for a launcher that stops its own children in order (the
   * Fastly CLI on SIGINT); after the grace period everything left is SIGKILLed as usual.
   */
  stopSignal?: NodeJS.Signals;
  stopLeaderOnly?: boolean;
  /**
   * 'inherit': the child writes straight to this process's stdout and stderr (a tool whose own
   * output is the user interface, such as the Fastly CLI): no log file, no echo, no recentOutput,
   * and `ready` must be a probe. Default 'pipe'.
   */
  output?: 'pipe' | 'inherit';
}

export interface ManagedProcess {
  name: string;
  /** The child itself (the leader of its process group). */
  pid: number;
  /** The keeper between this process and the child. */
  keeperPid: number;
  logFile: string | undefined;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** The last lines of output, for error messages. */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL after `graceMs`, to the child and all its descendants; resolves when all are gone. */
  stop(graceMs?: number): Promise<void>;
}

/** SIGTERM to SIGKILL: short, so a whole stack stops within 3 s even when a child hangs. */
export const DEFAULT_STOP_GRACE_MS = 1500;
const TAIL_LINES = 60;
const KEEPER = fileURLToPath(new URL('./processKeeper.mjs', import.meta.url));

export class ProcessStartError extends Error {
  override name = 'ProcessStartError';
}

type KeeperMessage =
  | { type: 'spawned'; pid: number }
  | { type: 'spawn-error'; message: string }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null };

// Every managed process this process runs, so that one call can stop them all when it exits.
const running = new Set<{ stop(graceMs?: number): Promise<void> }>();
let shuttingDown = false;

/**
 * This process is exiting: stops every managed process in parallel (resolves when all are gone) and
 * refuses to start more, including those a start-up still under way would start next.
 */
export async function stopEveryManagedProcess(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
  shuttingDown = true;
  await Promise.all([...running].map((child) => child.stop(graceMs)));
}

/** The keeper itself must not load what NODE_OPTIONS asks for (a TypeScript loader, say). */
function keeperEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...rest } = env;
  return rest;
}

export async function startManagedProcess(options: ManagedProcessOptions): Promise<ManagedProcess> {
  if (shuttingDown) throw new ProcessStartError(`${options.name} not started: shutting down`);
  const graceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  let log: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: 'a' });
  }
  const env = options.env ?? process.env;
  const inherit = options.output === 'inherit';
  if (inherit && options.ready instanceof RegExp) {
    throw new ProcessStartError(`${options.name}: with output 'inherit', readiness must be a probe, not an output pattern`);
  }
  const keeper: ChildProcess = spawn(process.execPath, [KEEPER, options.name], {
    cwd: options.cwd,
    env: keeperEnvironment(env),
    stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe', 'ipc'],
    // Its own session: a terminal's SIGINT or SIGHUP to our group does not reach it or the child.
    detached: true,
    serialization: 'json',
  });
  const tail: string[] = [];
  let outputSoFar = '';
  const lineWaiters = new Set<() => void>();
  const onLine = (line: string): void => {
    // Not into a stdout whose reader is gone (see brokenOutput.ts).
    const echo = typeof options.echo === 'function' ? options.echo(line) : options.echo;
    if (echo && process.stdout.writable) process.stdout.write(`[${options.name}] ${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  // Output comes in chunks that may end mid-line: per stream, an unfinished line waits for the rest.
  const partialLines = new Map<string, string>();
  const onOutput = (stream: string) => (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    if (log && !log.writableEnded) log.write(text);
    outputSoFar = (outputSoFar + text).slice(-65536);
    const lines = ((partialLines.get(stream) ?? '') + text).split('\n');
    partialLines.set(stream, (lines.pop() ?? '').slice(-4096));
    for (const line of lines) if (line) onLine(line);
    for (const wake of lineWaiters) wake();
  };
  const flushPartialLines = (): void => {
    for (const line of partialLines.values()) if (line) onLine(line);
    partialLines.clear();
  };
  const onData = onOutput('note');
  keeper.stdout?.on('data', onOutput('stdout'));
  keeper.stderr?.on('data', onOutput('stderr'));

  let childPid: number | undefined;
  let childStatus: number | string | undefined;
  const spawned = new Promise<void>((resolvePromise) => {
    keeper.on('message', (message: KeeperMessage) => {
      if (message.type === 'spawned') {
        childPid = message.pid;
        resolvePromise();
      } else if (message.type === 'spawn-error') {
        onData(Buffer.from(`${message.message}\n`));
        childStatus = `spawn error: ${message.message}`;
      } else if (message.type === 'exited') {
        childStatus = message.code ?? message.signal ?? 'unknown';
      }
    });
    keeper.once('exit', () => resolvePromise());
    keeper.once('error', () => resolvePromise());
  });
  // The channel must not keep this process alive by itself (its stdout pipes do while it runs).
  keeper.channel?.unref();
  const exited = new Promise<number | string>((resolvePromise) => {
    keeper.once('exit', (code, exitSignal) => resolvePromise(childStatus ?? code ?? exitSignal ?? 'unknown'));
    keeper.once('error', (error) => {
      onData(Buffer.from(`${error.message}\n`));
      resolvePromise(`spawn error: ${error.message}`);
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    running.delete(handle);
    for (const wake of lineWaiters) wake();
  });
  // 'exit' can come before the last output is read; the log ends once every stdio stream closed.
  keeper.once('close', () => {
    flushPartialLines();
    log?.end();
  });

  const stop = async (stopGraceMs = graceMs): Promise<void> => {
    if (hasExited || keeper.pid === undefined) return;
    // Kept in case the keeper itself fails us (it was SIGKILLed, say): then we finish its job.
    const tree = [...(childPid !== undefined ? [childPid] : []), ...descendantsOf(keeper.pid)];
    if (keeper.connected) keeper.send({ type: 'stop', graceMs: stopGraceMs }, (error) => error && signal(keeper.pid!, 'SIGTERM'));
    else signal(keeper.pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), stopGraceMs + 1000).unref());
    if ((await Promise.race([exited, timer])) !== 'timeout') return;
    if (childPid !== undefined) signal(-childPid, 'SIGKILL');
    for (const pid of [keeper.pid, ...tree]) if (isAlive(pid)) signal(pid, 'SIGKILL');
    await exited;
  };
  const handle = { stop };
  running.add(handle);

  const timeoutMs = options.readyTimeoutMs ?? 15000;
  const deadline = Date.now() + timeoutMs;
  const recentOutput = (): string => [...tail, ...[...partialLines.values()].filter(Boolean)].join('\n');
  const fail = async (why: string): Promise<never> => {
    await stop(1000);
    const where = options.logFile ? ` (log: ${options.logFile})` : '';
    throw new ProcessStartError(`${options.name} ${why}${where}\n${recentOutput()}`);
  };

  keeper.send(
    {
      type: 'start',
      command: options.command,
      args: options.args,
      cwd: options.cwd,
      env,
      graceMs,
      ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
      ...(options.stopLeaderOnly ? { stopLeaderOnly: true } : {}),
    },
    (error) => error && onData(Buffer.from(`cannot start the process keeper: ${error.message}\n`)),
  );
  await spawned;
  if (childPid === undefined || keeper.pid === undefined) return fail(`did not start (${await exited})`);
  if (shuttingDown) return fail('not started: shutting down');

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
  return { name: options.name, pid: childPid, keeperPid: keeper.pid, logFile: options.logFile, exited, recentOutput, stop };
}
