// A watchdog for the process groups `npm run serve` starts (the Fastly CLI's, with the Pushpin and
// Viceroy it spawns). The CLI is a Go binary: it cannot be told to stop when `npm run serve` dies. So a
// small process reads group ids on its stdin, a pipe from `npm run serve`; when the pipe closes (the
// launcher exited or was killed, even with SIGKILL), it ends every group it was given: SIGTERM, then
// SIGKILL after a grace period. Run as a script, this file is that watchdog.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const GRACE_MS = 5000;

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to each group, then SIGKILL to those still there after `graceMs`. */
export async function endGroups(groups: number[], graceMs = GRACE_MS): Promise<void> {
  const alive = groups.filter(groupAlive);
  for (const pgid of alive) signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let remaining = alive;
  while (remaining.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    remaining = remaining.filter(groupAlive);
  }
  for (const pgid of remaining) signalGroup(pgid, 'SIGKILL');
}

export interface GroupWatchdog {
  /** Ends this process group if `npm run serve` goes away without doing it. */
  guard(pgid: number): void;
  /** Done: the watchdog exits (ending whatever it still guards that is alive). */
  close(): void;
}

export function startGroupWatchdog(): GroupWatchdog {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    // Its own group: a Ctrl-C to the terminal's group, or a kill of ours, must not take it down too.
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  child.unref();
  const stdin = child.stdin!;
  // The pipe must not keep `npm run serve` alive, and a watchdog that died must not crash it.
  (stdin as unknown as { unref?: () => void }).unref?.();
  stdin.on('error', () => {});
  return {
    guard: (pgid) => void stdin.write(`${pgid}\n`),
    close: () => stdin.end(),
  };
}

async function watch(): Promise<void> {
  const groups: number[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const pgid = Number(line.trim());
    if (Number.isInteger(pgid) && pgid > 1) groups.push(pgid);
  }
  await endGroups(groups);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Signals meant for `npm run serve` are not for us: only the closing pipe ends the watch.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  await watch();
  process.exit(0);
}
