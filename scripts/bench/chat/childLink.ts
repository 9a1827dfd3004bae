// The parent's side of one of the chat benchmark's load processes (subscribers or publishers): a
// forked Node process with an IPC channel, typed messages both ways, a wait for the next message of a
// type, and a stop that always ends it. A child exits by itself when the channel closes (see
// processRole.ts), so it never outlives the benchmark, also when the benchmark is killed outright.
import { fork, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../shared/projectRoot.ts';

/** Every message a child sends has a type; `failed` (with a message) ends the run. */
export type ChildMessage = { type: string };

export interface ChildLink<To, From extends ChildMessage> {
  readonly pid: number;
  readonly name: string;
  send(message: To): void;
  /** The next message of `type` from now on (or one that came and was not taken yet). */
  next<T extends From['type']>(type: T, timeoutMs?: number): Promise<Extract<From, { type: T }>>;
  /** Every message of `type` (progress reports, say). */
  on<T extends From['type']>(type: T, listener: (message: Extract<From, { type: T }>) => void): void;
  /** Asks it to stop, then kills it if it has not exited within 3 s; resolves when it is gone. */
  stop(stopMessage: To): Promise<void>;
}

export function forkChild<To, From extends ChildMessage>(entry: string, name: string): ChildLink<To, From> {
  const child: ChildProcess = fork(entry, [], {
    // The TypeScript loader this benchmark runs under; nothing else from the parent's node flags.
    execArgv: ['--import', 'tsx'],
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const queued = new Map<string, From[]>();
  const waiting = new Map<string, Array<(message: From) => void>>();
  const listeners = new Map<string, Array<(message: From) => void>>();
  let failure: Error | undefined;
  const failWaiters: Array<(error: Error) => void> = [];
  let stopping = false;
  const fail = (error: Error): void => {
    if (failure) return;
    failure = error;
    for (const reject of failWaiters.splice(0)) reject(error);
  };
  child.on('message', (message: From) => {
    if (message.type === 'failed') return fail(new Error(`${name}: ${(message as unknown as { message: string }).message}`));
    for (const listener of listeners.get(message.type) ?? []) listener(message);
    const waiter = waiting.get(message.type)?.shift();
    if (waiter) waiter(message);
    else if (!listeners.has(message.type)) queued.set(message.type, [...(queued.get(message.type) ?? []), message]);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) fail(new Error(`${name} exited (${code ?? signal}) before the run ended`));
  });
  return {
    pid: child.pid ?? -1,
    name,
    send(message) {
      if (child.connected) child.send(message as object);
    },
    next(type, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const ready = queued.get(type)?.shift();
        if (ready) return resolve(ready as never);
        let timer: NodeJS.Timeout | undefined;
        const take = (message: From): void => {
          clearTimeout(timer);
          resolve(message as never);
        };
        waiting.set(type, [...(waiting.get(type) ?? []), take]);
        failWaiters.push((error) => {
          clearTimeout(timer);
          reject(error);
        });
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            waiting.set(type, (waiting.get(type) ?? []).filter((w) => w !== take));
            reject(new Error(`${name}: no "${type}" within ${Math.round(timeoutMs / 1000)} s`));
          }, timeoutMs);
        }
      });
    },
    on(type, listener) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener as (message: From) => void]);
    },
    stop(stopMessage) {
      stopping = true;
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        if (child.connected) child.send(stopMessage as object);
        else child.kill('SIGTERM');
      });
    },
  };
}
