// @ts-check
// Finding and signalling a process's descendants and the members of its session. Plain JavaScript so that the process keeper
// (processKeeper.mjs) runs on bare `node`, without a TypeScript loader; processTree.d.mts types it for
// the TypeScript side. Linux reads /proc; elsewhere (macOS) `ps` answers.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

const onLinux = process.platform === 'linux';

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses).
 * @param {number} pid
 * @returns {string[] | undefined} [state, ppid, pgrp, session, ...]
 */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is running. A zombie (exited, waiting for its parent to collect it) is not.
 * @param {number} pid
 */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
  if (!onLinux) return true;
  const stat = procStat(pid);
  return stat !== undefined && stat[0] !== 'Z';
}

/**
 * Sends `name` to `pid` (a negative pid: its process group); a process already gone is no error.
 * @param {number} pid
 * @param {NodeJS.Signals} name
 * @returns {boolean} whether the signal was delivered
 */
export function signal(pid, name) {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parent and process group of `pid`, or undefined when it is gone.
 * @param {number} pid
 * @returns {{ ppid: number, pgid: number } | undefined}
 */
export function parentAndGroup(pid) {
  if (onLinux) {
    const stat = procStat(pid);
    return stat ? { ppid: Number(stat[1]), pgid: Number(stat[2]) } : undefined;
  }
  try {
    const [ppid, pgid] = execFileSync('ps', ['-o', 'ppid=,pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    return ppid !== undefined && pgid !== undefined && !Number.isNaN(pgid) ? { ppid, pgid } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the kernel offers /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN; Debian's does). */
const childrenFilesWork = onLinux && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/**
 * Direct children of `pid` from /proc/PID/task/TID/children (cheap: no scan of every process).
 * @param {number} pid
 * @returns {number[] | undefined} undefined where the kernel does not offer those files
 */
function childrenFromTasks(pid) {
  if (!childrenFilesWork) return undefined;
  /** @type {number[]} */
  const children = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children; // gone
  }
  for (const tid of tasks) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // that thread ended meanwhile
    }
    for (const child of text.split(' ')) if (child.trim()) children.push(Number(child));
  }
  return children;
}

/** @returns {Map<number, number[]>} parent pid -> child pids, for every process */
function processTable() {
  /** @type {Map<number, number[]>} */
  const table = new Map();
  /** @type {(child: number, parent: number) => void} */
  const add = (child, parent) => table.set(parent, [...(table.get(parent) ?? []), child]);
  if (onLinux) {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = procStat(pid);
      if (stat) add(pid, Number(stat[1]));
    }
    return table;
  }
  let text = '';
  try {
    text = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return table;
  }
  for (const line of text.split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child && parent !== undefined) add(child, parent);
  }
  return table;
}

/**
 * Every live descendant of `pid`, children first (they may sit in process groups of their own, as
 * Pushpin's services do, so a group signal does not reach them).
 * @param {number} pid
 * @returns {number[]}
 */
export function descendantsOf(pid) {
  /** @type {Map<number, number[]> | undefined} */
  let table;
  /** @type {(parent: number) => number[]} */
  const childrenOf = (parent) => {
    if (!table) {
      const direct = childrenFromTasks(parent);
      if (direct) return direct;
    }
    table ??= processTable();
    return table.get(parent) ?? [];
  };
  /** @type {number[]} */
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf(/** @type {number} */ (queue.shift()))) {
      if (found.includes(child)) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Every live process in session `sid` (the session a child started with `detached: true`, i.e.
 * setsid, leads: its id is the child's pid). A process that starts services in process groups of
 * their own (Pushpin's runner) keeps them in its session, also after they were orphaned.
 * Whether such a process is still yours is the caller's question: a session id is a pid, reusable
 * once the session is empty (see processKeeper.mjs).
 * Linux reads /proc; elsewhere `ps -o sid` answers where ps has that keyword (the BSDs); macOS's ps
 * has none (its `sess` is a kernel pointer), so there the answer is undefined: unknown.
 * @param {number} sid
 * @returns {number[] | undefined}
 */
export function sessionMembers(sid) {
  /** @type {number[]} */
  const members = [];
  if (onLinux) {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = procStat(pid);
      if (stat && stat[0] !== 'Z' && Number(stat[3]) === sid) members.push(pid);
    }
    return members;
  }
  let text;
  try {
    text = execFileSync('ps', ['-A', '-o', 'pid=,sid='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [pid, session] = line.trim().split(/\s+/).map(Number);
    if (pid && session === sid && isAlive(pid)) members.push(pid);
  }
  return members;
}

/**
 * The TCP ports that any of `pids` listens on (IPv4 or IPv6, any address), or undefined where the
 * platform cannot tell (not Linux). From /proc/net/tcp{,6} (listening sockets: state 0A, and their
 * inodes) and the processes' /proc/PID/fd links (`socket:[inode]`): whether a port is theirs, not
 * merely taken by someone.
 * @param {number[]} pids
 * @returns {Set<number> | undefined}
 */
export function listeningPortsOf(pids) {
  if (!onLinux) return undefined;
  /** @type {Map<string, number>} socket inode -> port */
  const listening = new Map();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields.length < 10 || fields[3] !== '0A') continue;
      listening.set(/** @type {string} */ (fields[9]), parseInt(/** @type {string} */ (fields[1]).split(':')[1] ?? '', 16));
    }
  }
  /** @type {Set<number>} */
  const ports = new Set();
  for (const pid of pids) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone
    }
    for (const fd of fds) {
      let target;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const port = inode === undefined ? undefined : listening.get(inode);
      if (port !== undefined) ports.add(port);
    }
  }
  return ports;
}
