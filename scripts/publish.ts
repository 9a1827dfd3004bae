// `npm run publish -- <channel> <message> [options]`: the publish CLI's entry point. It only wires
// the modules in scripts/publish/ together and decides the exit code; see --help.
import { createReadStream } from 'node:fs';
import { EXIT, UsageError } from './publish/exitCodes.ts';
import { exitCodeForFailures, type RunFailure } from './publish/failureHints.ts';
import { helpText } from './publish/helpText.ts';
import { readBulkMessages } from './publish/messageInput.ts';
import { buildPublishCommand, type PublishCommand } from './publish/publishCommand.ts';
import {
  createProgressLine,
  createRedactor,
  formatFailures,
  formatSummary,
  jsonResult,
  type Redactor,
} from './publish/publishOutput.ts';
import { runPublish, type RunCounters, type RunEntry } from './publish/publishRun.ts';
import { createPublishSink } from './publish/publishSinks.ts';

function reportUsageError(json: boolean, failure: RunFailure, redact: Redactor): number {
  if (json) process.stdout.write(`${redact(JSON.stringify({ ok: false, exitCode: EXIT.usage, errors: [failure] }))}\n`);
  else process.stderr.write(`${redact(formatFailures([failure]).join('\n'))}\n`);
  return EXIT.usage;
}

function entriesFor(command: PublishCommand): AsyncIterable<RunEntry> | Iterable<RunEntry> {
  const { input } = command;
  if (input.kind === 'close') return [{ ok: 'close', channel: input.channel }];
  if (input.kind === 'single') {
    const message = { channel: input.channel, data: input.data, ...(input.id ? { id: input.id } : {}) };
    return [{ ok: true, message }];
  }
  if (input.source === '-' && process.stdin.isTTY && !command.json) {
    process.stderr.write('reading messages from standard input, one a line; end with Ctrl-D\n');
  }
  const stream = input.source === '-' ? process.stdin : createReadStream(input.source);
  return readBulkMessages(stream, input.channel, input.dataMode);
}

async function main(argv: string[]): Promise<number> {
  const jsonRequested = argv.includes('--json');
  let request;
  try {
    request = buildPublishCommand(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // The environment may hold tokens even when parsing failed.
    const redact = createRedactor([process.env.FASTLY_API_TOKEN ?? '', process.env.PUBLISH_TOKEN ?? '']);
    const hint = error.hint ? `${error.hint}. Run with --help for every option.` : 'Run with --help for every option.';
    return reportUsageError(jsonRequested, { kind: 'usage', message: error.message, hint }, redact);
  }
  if (request.help) {
    process.stdout.write(helpText());
    return EXIT.ok;
  }
  const { command } = request;
  const redact = createRedactor(command.target.secrets);
  const counters: RunCounters = { requests: 0, retries: 0 };
  const sink = createPublishSink(command.target, command.tuning, {
    onRequest: () => counters.requests++,
    onRetry: (report) => {
      counters.retries++;
      if (!command.json) {
        const line = `retrying (attempt ${report.attempt} of ${report.attempts}): ${report.error.message}\n`;
        process.stderr.write(redact(line));
      }
    },
  });
  const progress = createProgressLine(process.stderr, Boolean(process.stderr.isTTY) && !command.json && command.input.kind === 'bulk');
  const result = await runPublish(
    entriesFor(command),
    {
      sink,
      target: command.target.name,
      tuning: command.tuning,
      keepIds: command.input.kind !== 'bulk',
      onProgress: (stats) => progress.update(stats),
    },
    counters,
  );
  progress.done();
  const exitCode = exitCodeForFailures(result.failures);
  if (command.json) {
    process.stdout.write(`${redact(JSON.stringify(jsonResult(result, command.input, command.target, exitCode)))}\n`);
  } else {
    const failures = formatFailures(result.failures);
    if (failures.length > 0) process.stderr.write(`${redact(failures.join('\n'))}\n`);
    if (result.sent > 0 || command.input.kind === 'bulk') process.stdout.write(`${redact(formatSummary(result, command.input, command.target))}\n`);
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const redact = createRedactor([process.env.FASTLY_API_TOKEN ?? '', process.env.PUBLISH_TOKEN ?? '']);
    process.stderr.write(redact(`internal error: ${(error as Error).stack ?? String(error)}\n`));
    process.exitCode = EXIT.internal;
  },
);
