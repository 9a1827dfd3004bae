// What a process does when nobody reads its output any more: the terminal closed (EIO) or the process
// reading its pipe is gone (EPIPE). Node ignores SIGPIPE, so each write then fails with an 'error' event;
// unhandled, that is an uncaught exception, and a handler that logs it writes again and fails again, a
// loop that kept an orphaned compute host at 100% CPU. Here the first such error calls `onBroken` once
// and every later one is swallowed; nothing more is written.

let broken = false;
const handlers: Array<(error: NodeJS.ErrnoException) => void> = [];
let installed = false;

/** Calls `onBroken` once, when stdout or stderr can no longer be written. */
export function onBrokenOutput(onBroken: (error: NodeJS.ErrnoException) => void): void {
  handlers.push(onBroken);
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (broken) return;
      broken = true;
      for (const handler of handlers) handler(error);
    });
  }
}

/** False once a write to stdout or stderr failed: write nothing more then. */
export function outputIsOpen(): boolean {
  return !broken && process.stdout.writable && process.stderr.writable;
}
