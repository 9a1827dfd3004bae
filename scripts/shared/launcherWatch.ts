// Notices when whatever launched this process is gone, though this process was not signalled: `npm start`
// is npm -> node (start.ts, exec'd by npm's sh; `npm run serve` the same with serve.ts), and SIGKILL of
// npm (an IDE stopping it) or a SIGHUP that kills npm alone leaves start.ts running with nobody to stop
// it. So start.ts watches its ancestors up to the leader of its process group (the job a shell made of
// the command: npm itself; a shell or tsx in between too): when one of them exits, its child is
// re-parented, which a poll of the parent pids sees. Ancestors outside the group (the shell) are not
// watched, so `nohup npm start &` keeps running after the shell exits.
import { parentAndGroup } from './processTree.mjs';

export interface LauncherWatch {
  /** The ancestors watched, nearest first. */
  launchers: number[];
  stop(): void;
}

/** Polling is a read of /proc on Linux, a `ps` run elsewhere (macOS), hence the slower default there. */
const DEFAULT_INTERVAL_MS = process.platform === 'linux' ? 200 : 1000;

/** Calls `onGone` once, naming the pid, when one of the launchers exits. Polls every `intervalMs`. */
export function watchLaunchers(onGone: (pid: number) => void, intervalMs = DEFAULT_INTERVAL_MS): LauncherWatch {
  // Pairs [process, its parent] whose link must hold.
  const links: Array<[number, number]> = [];
  const self = parentAndGroup(process.pid);
  if (self) {
    let current = process.pid;
    let info = self;
    while (current !== self.pgid) {
      const parent = parentAndGroup(info.ppid);
      if (!parent || parent.pgid !== self.pgid) break;
      links.push([current, info.ppid]);
      current = info.ppid;
      info = parent;
    }
  }
  const timer = setInterval(() => {
    for (const [pid, parent] of links) {
      const now = pid === process.pid ? process.ppid : parentAndGroup(pid)?.ppid;
      if (now !== parent) {
        clearInterval(timer);
        // Gone itself, or re-parented because its parent is gone.
        onGone(now === undefined ? pid : parent);
        return;
      }
    }
  }, intervalMs);
  timer.unref();
  if (links.length === 0) clearInterval(timer);
  return { launchers: links.map(([, parent]) => parent), stop: () => clearInterval(timer) };
}
