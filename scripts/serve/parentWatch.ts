// Notices when the process that started this one is gone, however it went (SIGKILL included): its death
// re-parents us (to init or a subreaper), which changes process.ppid. Optionally also the grandparent:
// an npm script runs under `sh -c`, which keeps waiting for us when npm itself is killed.
import { execFileSync } from 'node:child_process';

function parentOf(pid: number): number | undefined {
  try {
    const ppid = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `onGone` once, when the parent (or, with `grandparent`, its parent) is gone. Returns a stop function. */
export function watchParents(onGone: (why: string) => void, options: { grandparent?: boolean; intervalMs?: number } = {}): () => void {
  const parent = process.ppid;
  const grandparent = options.grandparent ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    let why: string | undefined;
    if (process.ppid !== parent) why = `its parent (pid ${parent}) is gone`;
    else if (grandparent !== undefined && !alive(grandparent)) why = `its parent's parent (pid ${grandparent}) is gone`;
    if (why === undefined) return;
    clearInterval(timer);
    onGone(why);
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}
