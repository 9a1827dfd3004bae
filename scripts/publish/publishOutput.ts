// What the CLI prints: a progress line on a terminal (stderr, TTY only, redrawn at most 10 times a
// second), a human summary, or one JSON object for scripts. Every string passes through the redactor
// so no token (Fastly, PUBLISH_TOKEN, key= in a GRIP URL) can appear in the output, even inside an
// error a server echoed back.
import type { RunFailure } from './failureHints.ts';
import type { PublishInput } from './publishCommand.ts';
import type { RunResult, RunStats } from './publishRun.ts';
import { closeEndpoint, type ResolvedTarget } from './publishTargets.ts';

export type Redactor = (text: string) => string;

export function createRedactor(secrets: readonly string[]): Redactor {
  // Longest first, so a secret that contains another is replaced whole.
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => list.reduce((out, secret) => out.split(secret).join('***'), text);
}

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function count(n: number, noun: string): string {
  return `${number.format(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

export interface ProgressLine {
  update(stats: RunStats): void;
  done(): void;
}

export function createProgressLine(stream: NodeJS.WriteStream, enabled: boolean): ProgressLine {
  let last = 0;
  let drawn = false;
  return {
    update(stats) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const rate = perSecond(stats.sent, stats.elapsedMs);
      const failed = stats.failed > 0 ? `, ${number.format(stats.failed)} failed` : '';
      stream.write(`\r\x1b[2Ksent ${number.format(stats.sent)} messages${failed} · ${number.format(rate)} msg/s`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

function formatFailure(failure: RunFailure): string {
  const where = failure.line !== undefined ? `line ${failure.line}: ` : '';
  const hint = failure.hint ? `\n  hint: ${failure.hint}` : '';
  return `error: ${where}${failure.message}${hint}`;
}

/** Input failures beyond this many are summarised, so a bad file does not flood the terminal. */
const MAX_LISTED_INPUT_FAILURES = 10;

export function formatFailures(failures: readonly RunFailure[]): string[] {
  const input = failures.filter((f) => f.kind === 'input');
  const lines = failures.filter((f) => f.kind !== 'input').map(formatFailure);
  lines.unshift(...input.slice(0, MAX_LISTED_INPUT_FAILURES).map(formatFailure));
  if (input.length > MAX_LISTED_INPUT_FAILURES) {
    lines.splice(MAX_LISTED_INPUT_FAILURES, 0, `error: ... and ${input.length - MAX_LISTED_INPUT_FAILURES} more invalid lines`);
  }
  return lines;
}

function transportsNote(target: ResolvedTarget): string {
  return target.kind === 'origin'
    ? 'stored and published by the origin to sse, stream, poll and ws'
    : "sse, stream, poll and ws, live only (not in the origin's history: a client that reconnects later will not get it)";
}

export function formatSummary(result: RunResult, input: PublishInput, target: ResolvedTarget): string {
  const to = target.endpoints.join(', ');
  if (input.kind === 'close' && result.sent === 1) {
    const where = target.kind === 'origin' ? closeEndpoint(target, input.channel) : to;
    return `sent a close for sse, stream and ws on ${input.channel} → ${where}`;
  }
  if (input.kind === 'single' && result.sent === 1) {
    const id = result.ids[0] !== undefined ? ` (id ${result.ids[0]})` : '';
    return `published to ${input.channel}${id}: ${transportsNote(target)} → ${to}`;
  }
  if (input.kind !== 'bulk') return `nothing was published → ${to}`;
  const seconds = result.elapsedMs / 1000;
  const items =
    target.kind === 'grip'
      ? ` (${count(result.gripItems, 'GRIP item')} in ${count(result.requests, 'request')})`
      : ` (${count(result.requests, 'request')})`;
  const rates =
    target.kind === 'grip'
      ? `${number.format(perSecond(result.sent, result.elapsedMs))} msg/s, ${number.format(perSecond(result.gripItems, result.elapsedMs))} items/s`
      : `${number.format(perSecond(result.sent, result.elapsedMs))} msg/s`;
  const stopped = result.stopped ? '; stopped at the failed request, the rest of the input was not sent' : '';
  return (
    `sent ${count(result.sent, 'message')}${items} in ${seconds.toFixed(2)} s: ${rates}; ` +
    `failed ${number.format(result.failed)}${result.invalid > 0 ? ` (${count(result.invalid, 'invalid line')})` : ''}${stopped} → ${to}`
  );
}

export interface JsonResult {
  ok: boolean;
  exitCode: number;
  target?: string;
  endpoints?: string[];
  mode?: PublishInput['kind'];
  sent?: number;
  failed?: number;
  invalid?: number;
  gripItems?: number;
  requests?: number;
  retries?: number;
  elapsedMs?: number;
  messagesPerSecond?: number;
  itemsPerSecond?: number;
  ids?: string[];
  /** Whether the messages were stored in the origin's history (recoverable by reconnecting clients). */
  stored?: boolean;
  stopped?: boolean;
  errors: RunFailure[];
  errorsOmitted?: number;
}

const MAX_JSON_ERRORS = 100;

export function jsonResult(result: RunResult, input: PublishInput, target: ResolvedTarget, exitCode: number): JsonResult {
  const out: JsonResult = {
    ok: exitCode === 0,
    exitCode,
    target: target.name,
    endpoints: target.endpoints,
    mode: input.kind,
    sent: result.sent,
    failed: result.failed,
    invalid: result.invalid,
    gripItems: result.gripItems,
    requests: result.requests,
    retries: result.retries,
    elapsedMs: Math.round(result.elapsedMs * 10) / 10,
    messagesPerSecond: Math.round(perSecond(result.sent, result.elapsedMs)),
    itemsPerSecond: Math.round(perSecond(result.gripItems, result.elapsedMs)),
    stored: target.kind === 'origin',
    stopped: result.stopped,
    errors: result.failures.slice(0, MAX_JSON_ERRORS),
  };
  if (input.kind !== 'bulk') out.ids = result.ids;
  if (result.failures.length > MAX_JSON_ERRORS) out.errorsOmitted = result.failures.length - MAX_JSON_ERRORS;
  return out;
}
