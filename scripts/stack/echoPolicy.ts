// Which lines of a child's output `npm start` shows in the terminal by default: what needs the
// user's eye (warnings, errors, a crash's stack trace, the edge app's own logging), not the steady
// noise of a working stack (Pushpin's INFO lines, the origin's info and debug logs, the local
// Compute host's line per request). Everything still goes to the child's log file.

export type StackChild = 'origin' | 'pushpin' | 'edge';

/** Pushpin 1.36 prefixes every line with its level: `[INFO] 2026-12-07 ...`. */
const PUSHPIN_ROUTINE = /^\[(INFO|DEBUG|TRACE)\] /;
/** pino's numeric levels: 40 is warn. */
const PINO_WARN = 40;
/** The local Compute host's routine lines: one per request, cache decisions, handoffs, header cleaning. */
const EDGE_ROUTINE = [
  /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ -> \d{3}\b/,
  /^cache: /,
  /^request \d+: Fanout handoff to backend /,
  /^edge: removed client-sent proxy headers: /,
];

function pinoLevel(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    const level = typeof parsed === 'object' && parsed !== null ? (parsed as { level?: unknown }).level : undefined;
    return typeof level === 'number' ? level : undefined;
  } catch {
    return undefined;
  }
}

/** True for a line worth showing: anything not known to be routine. */
export function isProblemLine(child: StackChild, line: string): boolean {
  if (child === 'pushpin') return !PUSHPIN_ROUTINE.test(line);
  if (child === 'origin') {
    const level = pinoLevel(line);
    return level === undefined || level >= PINO_WARN;
  }
  if (/ -> 5\d\d\b/.test(line)) return true;
  return !EDGE_ROUTINE.some((routine) => routine.test(line));
}

/** `npm start`'s terminal: every line, only problems (the default), or none. */
export type EchoMode = 'all' | 'problems' | 'none';

/** What a managed process's `echo` option takes for this child under `mode`. */
export function echoFor(mode: EchoMode, child: StackChild): boolean | ((line: string) => boolean) {
  if (mode === 'problems') return (line) => isProblemLine(child, line);
  return mode === 'all';
}
