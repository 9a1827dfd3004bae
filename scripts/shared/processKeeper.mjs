// @ts-check
// The process keeper: a small Node process between the stack (or a test) and each child it starts, so
// that no child outlives whoever started it, however that one ends. managedProcess.ts runs
//   node processKeeper.mjs <name>
// with an IPC channel and sends it what to run. The keeper starts the child in a process group of its
// own, with the keeper's stdout and stderr (the owner's pipes), and then:
// - stops it when asked ({type:'stop'} or SIGTERM/SIGINT/SIGHUP) and when the owner is gone: the IPC
//   channel closes when the owner exits by any means, SIGKILL included, so nothing is polled;
// - stopping is SIGTERM to the child's group, then, after the grace period, SIGKILL to the group, to
//   every process in the child's session and to every descendant seen (Pushpin's runner puts its
//   services in groups of their own, in its session);
// - when the child ends by itself, what it left in its session (and the descendants seen) is stopped
//   the same way (a SIGKILLed Pushpin runner leaves its 4 services behind otherwise);
// - reports {type:'spawned', pid}, {type:'spawn-error', message} and {type:'exited', code, signal}, and
//   exits only once the child and its descendants are gone.
// Plain JavaScript (no TypeScript loader: it starts in ~40 ms and spawns nothing else).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { descendantsOf, isAlive, sessionMembers, signal } from './processTree.mjs';

/**
 * How often the child's descendants are looked up while it runs, so they are known after it died.
 * Only for those that leave its session (setsid, a daemon's double fork): the session finds the rest
 * with no such window (see sessionLeftovers).
 */
const SNAPSHOT_INTERVAL_MS = 1000;
const POLL_MS = 25;

/**
 * `stopSignal` (default SIGTERM) goes to the child's group, or with `stopLeaderOnly` to the child
 * alone: a launcher that stops its own children in order when signalled (the Fastly CLI on SIGINT)
 * gets the grace period to do so; whatever is left after it is SIGKILLed all the same.
 * @typedef {{ type: 'start', command: string, args: string[], cwd?: string, env?: Record<string, string>, graceMs: number, stopSignal?: NodeJS.Signals, stopLeaderOnly?: boolean }} StartMessage
 * @typedef {{ type: 'stop', graceMs?: number }} StopMessage
 */

/** @type {import('node:child_process').ChildProcess | undefined} */
let child;
/** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
let childStatus;
let graceMs = 1500;
/** @type {NodeJS.Signals} */
let stopSignal = 'SIGTERM';
let stopLeaderOnly = false;
/** Descendants seen so far (pids), kept after the child exits. */
const known = new Set();
/** @type {number | undefined} When set, everything still alive is SIGKILLed at this time. */
let killAt;
let finishing = false;

// The keeper never writes to its stdout/stderr (they are the child's log); a broken pipe is no error.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

/** @param {object} message */
function report(message) {
  if (!process.connected || !process.send) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    process.send?.(message, undefined, {}, () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

function snapshot() {
  if (child?.pid === undefined || childStatus) return;
  forgetTheDead(); // first: their pids may be reused by processes that are none of ours
  for (const pid of descendantsOf(child.pid)) known.add(pid);
}

function forgetTheDead() {
  for (const pid of known) if (!isAlive(pid)) known.delete(pid);
}

let sessionEmpty = false;

/**
 * The live processes in the child's session. Spawned with `detached: true` (setsid), the child leads a
 * session whose id is its pid, and whatever it starts stays in it, whichever process group it moves to
 * and whoever its parent becomes, unless it calls setsid itself. So what a child left behind is found
 * however soon it died: a SIGKILLed Pushpin runner, ready within a second of its start, may die before
 * any snapshot of its descendants.
 *
 * Pid reuse: a session id is a pid, and only ours while the session is the child's. Linux hands out no
 * pid that a live process still uses as its pid, process group id or session id; so while the child
 * lives (or is a zombie) or any member of its session does, no stranger can lead a session of that id,
 * and every member is ours. Only once the session is empty may the number be reused, by a process that
 * then calls setsid. Hence the session is looked at until the first look that finds it empty, never
 * after: in between two looks (POLL_MS apart while stopping) the last member would have to exit and the
 * kernel to cycle through every other pid before reusing this one (pid_max: 32768 on Debian by default,
 * 4194304 on many systems).
 * Where the platform cannot tell sessions (macOS: sessionMembers is undefined), only the descendants
 * seen so far are stopped, with the snapshot's window.
 * @returns {number[]}
 */
function sessionLeftovers() {
  if (child?.pid === undefined || sessionEmpty) return [];
  const members = sessionMembers(child.pid);
  if (members === undefined) return [];
  if (members.length === 0) sessionEmpty = true;
  return members;
}

/** What is left of the child's processes: its session and the descendants seen, alive. */
function leftovers() {
  forgetTheDead();
  return [...new Set([...known, ...sessionLeftovers()])];
}

/**
 * Signals the child's process group while it can still be the child's: a group lives within one
 * session, so once the session was seen empty (after the child's exit) its id may be someone else's.
 * @param {NodeJS.Signals} name
 */
function signalChildGroup(name) {
  if (child?.pid === undefined || (childStatus && sessionEmpty)) return false;
  return signal(-child.pid, name);
}

/**
 * Stops the child (if running) and its descendants: SIGTERM now, SIGKILL to whatever remains after
 * `grace` ms. Called again, it only ever brings the deadline forward.
 * @param {number} grace
 */
function stopEverything(grace) {
  const deadline = Date.now() + grace;
  if (killAt !== undefined && killAt <= deadline) return;
  const first = killAt === undefined;
  killAt = deadline;
  if (first) {
    snapshot();
    if (child?.pid !== undefined && !childStatus) {
      // The group: the child and whatever it spawned without a group of its own.
      if (stopLeaderOnly || !signalChildGroup(stopSignal)) signal(child.pid, stopSignal);
    } else {
      for (const pid of leftovers()) signal(pid, 'SIGTERM');
      signalChildGroup('SIGTERM');
    }
  }
  void waitForTheEnd();
}

let waiting = false;
async function waitForTheEnd() {
  if (waiting) return;
  waiting = true;
  for (;;) {
    const now = Date.now();
    if (killAt !== undefined && now >= killAt) {
      const rest = leftovers();
      signalChildGroup('SIGKILL');
      if (child?.pid !== undefined && !childStatus) signal(child.pid, 'SIGKILL');
      for (const pid of rest) signal(pid, 'SIGKILL');
      killAt = Number.POSITIVE_INFINITY; // killed; now only wait for the child's exit to be seen
    }
    if (childStatus && leftovers().length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  await finish();
}

async function finish() {
  if (finishing) return;
  finishing = true;
  const status = childStatus ?? { code: null, signal: null };
  await report({ type: 'exited', code: status.code, signal: status.signal });
  // The keeper's own status mirrors the child's (128 + n for a signal, as a shell reports it).
  const code = status.code ?? (status.signal ? 128 + (constants.signals[status.signal] ?? 0) : 1);
  process.exit(code);
}

/** @param {StartMessage} message */
function start(message) {
  graceMs = message.graceMs;
  stopSignal = message.stopSignal ?? 'SIGTERM';
  stopLeaderOnly = message.stopLeaderOnly ?? false;
  const env = { ...message.env };
  // Our own IPC channel's variables must not make a Node child open a channel on fd 3.
  delete env.NODE_CHANNEL_FD;
  delete env.NODE_CHANNEL_SERIALIZATION_MODE;
  child = spawn(message.command, message.args, {
    cwd: message.cwd,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  child.once('spawn', () => {
    void report({ type: 'spawned', pid: child?.pid });
    snapshot();
    setInterval(snapshot, SNAPSHOT_INTERVAL_MS).unref();
  });
  child.once('error', (error) => {
    if (child?.pid !== undefined) return; // an error after spawning (a failed kill): the exit follows
    void report({ type: 'spawn-error', message: error.message }).then(() => process.exit(127));
  });
  child.once('exit', (code, exitSignal) => {
    childStatus = { code, signal: exitSignal };
    // Ended by itself (or by our SIGTERM): whatever it left behind goes too.
    stopEverything(killAt === undefined ? Math.min(graceMs, 1000) : graceMs);
  });
}

process.on('message', (/** @type {StartMessage | StopMessage} */ message) => {
  if (message.type === 'start' && !child) start(message);
  else if (message.type === 'stop') {
    if (!child) process.exit(0);
    stopEverything(message.graceMs ?? graceMs);
  }
});

// The owner is gone (exited, crashed or SIGKILLed): stop the child.
process.on('disconnect', () => {
  if (!child) process.exit(0);
  stopEverything(graceMs);
});

for (const name of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) {
  process.on(name, () => {
    if (!child) process.exit(0);
    stopEverything(graceMs);
  });
}

if (!process.connected) {
  console.error('processKeeper.mjs is started by scripts/shared/managedProcess.ts (it needs an IPC channel)');
  process.exit(2);
}
