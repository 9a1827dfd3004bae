// Types for processTree.mjs (plain JavaScript so the process keeper runs on bare node).

/** Whether `pid` is running; a zombie is not. */
export function isAlive(pid: number): boolean;
/** Sends `name` to `pid` (negative: its process group); false when nothing was there to signal. */
export function signal(pid: number, name: NodeJS.Signals): boolean;
/** Parent and process group of `pid`, or undefined when it is gone. */
export function parentAndGroup(pid: number): { ppid: number; pgid: number } | undefined;
/** Every live descendant of `pid`, children first. */
export function descendantsOf(pid: number): number[];
/** Every live process in session `sid`; undefined where the platform cannot tell (macOS). */
export function sessionMembers(sid: number): number[] | undefined;
/** The TCP ports any of `pids` listens on; undefined where the platform cannot tell (not Linux). */
export function listeningPortsOf(pids: number[]): Set<number> | undefined;
