// Turns parsed arguments and the environment into one validated publish command, or a UsageError
// that says what is wrong and how to write it. Nothing is sent until this succeeds.
import { accessSync, constants, statSync } from 'node:fs';
import { CHANNEL_NAME_RULE, isMessageId, isValidChannelName } from '../../protocol/index.ts';
import { parseArguments, type ParsedArguments } from './cliArguments.ts';
import { UsageError } from './exitCodes.ts';
import { interpretData, MessageDataError, type DataMode } from './messageInput.ts';
import { resolveTarget, type ResolvedTarget } from './publishTargets.ts';

export type PublishInput =
  /** `id`: a requested id, through the origin only. */
  | { kind: 'single'; channel: string; data: unknown; id?: string }
  | { kind: 'close'; channel: string }
  /** `source` is a path or '-' for standard input. */
  | { kind: 'bulk'; source: string; channel?: string; dataMode: DataMode };

export interface PublishTuning {
  /** Messages per publish request. */
  batchSize: number;
  concurrency: number;
  timeoutMs: number;
  /** Attempts per request, the first included. */
  attempts: number;
}

export interface PublishCommand {
  input: PublishInput;
  target: ResolvedTarget;
  json: boolean;
  tuning: PublishTuning;
}

export type CliRequest = { help: true; json: boolean } | { help: false; command: PublishCommand };

export const DEFAULT_TUNING: PublishTuning = { batchSize: 50, concurrency: 1, timeoutMs: 10_000, attempts: 4 };
/** The origin accepts at most this many items in one POST /api/publish. */
export const ORIGIN_MAX_BATCH = 1000;

function integerOption(args: ParsedArguments, name: string, fallback: number, min: number, max: number): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function checkChannel(channel: string): string {
  if (!isValidChannelName(channel)) {
    throw new UsageError(
      `invalid channel name ${JSON.stringify(channel)}`,
      `a channel is ${CHANNEL_NAME_RULE} (the same rule as the origin's)`,
    );
  }
  return channel;
}

function checkId(value: string | undefined, option: string): string | undefined {
  if (value !== undefined && (!isMessageId(value) || value === '0')) {
    throw new UsageError(`${option} must be a decimal id such as 1796000000000042 (up to 18 digits), not ${JSON.stringify(value)}`);
  }
  return value;
}

/** Fails before anything is sent, rather than with a stream error halfway. */
function checkReadableFile(path: string): void {
  try {
    if (statSync(path).isDirectory()) throw new Error('is a directory');
    accessSync(path, constants.R_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`cannot read --file ${path}: ${reason}`, "give a readable file, or '-' for standard input");
  }
}

function refuse(condition: boolean, message: string, hint?: string): void {
  if (condition) throw new UsageError(message, hint);
}

function buildInput(args: ParsedArguments, target: ResolvedTarget): PublishInput {
  const [channelArg, messageArg, ...extra] = args.positionals;
  const flag = (name: string): boolean => args.flags.has(name);
  const id = checkId(args.values.get('id'), '--id');
  const file = args.values.get('file');
  refuse(flag('raw') && flag('json-data'), '--raw and --json-data cannot be combined', 'pick one');
  refuse(
    extra.length > 0,
    `too many arguments: ${JSON.stringify(extra.join(' '))}`,
    extra.some((arg) => arg.startsWith('-'))
      ? "options go before a '--' (everything after it is the channel and message)"
      : "quote a message that contains spaces: npm run publish -- news 'hello world'",
  );
  refuse(
    id !== undefined && target.kind !== 'origin',
    '--id needs --target origin',
    'a message published straight to the proxy is not in the history, so it has no id; the origin numbers and stores messages',
  );
  const dataMode: DataMode = flag('raw') ? 'raw' : flag('json-data') ? 'json' : 'auto';

  if (flag('close')) {
    refuse(channelArg === undefined, 'missing <channel> for --close', 'npm run publish -- news --close');
    refuse(
      messageArg !== undefined || file !== undefined || id !== undefined || flag('raw') || flag('json-data'),
      '--close takes only a channel',
      'it sends no message: npm run publish -- news --close',
    );
    return { kind: 'close', channel: checkChannel(channelArg!) };
  }

  const bulkSource = file ?? (messageArg === '-' ? '-' : undefined);
  if (bulkSource !== undefined) {
    refuse(
      file !== undefined && messageArg !== undefined,
      'give either a message or --file, not both',
      'npm run publish -- news --file messages.txt',
    );
    refuse(id !== undefined, '--id cannot be used with bulk input', 'put an "id" in each NDJSON item instead');
    if (bulkSource !== '-') checkReadableFile(bulkSource);
    const input: PublishInput = { kind: 'bulk', source: bulkSource, dataMode };
    if (channelArg !== undefined) input.channel = checkChannel(channelArg);
    return input;
  }

  refuse(
    channelArg === undefined,
    'missing <channel>',
    "usage: npm run publish -- <channel> <message> [options], e.g. npm run publish -- news '{\"text\":\"hello\"}'",
  );
  const channel = checkChannel(channelArg!);
  refuse(
    messageArg === undefined,
    'missing <message>',
    `give the message after the channel (npm run publish -- ${channel} hello), '-' to read lines from standard input, or --close`,
  );
  let data: unknown;
  try {
    data = interpretData(messageArg!, dataMode);
  } catch (error) {
    if (error instanceof MessageDataError) {
      throw new UsageError(`the message is ${error.message}`, 'drop --json-data to send it as a string, or fix the JSON');
    }
    throw error;
  }
  const input: PublishInput = { kind: 'single', channel, data };
  if (id !== undefined) input.id = id;
  return input;
}

export function buildPublishCommand(argv: readonly string[], env: Record<string, string | undefined>): CliRequest {
  const args = parseArguments(argv);
  const json = args.flags.has('json');
  if (args.flags.has('help')) return { help: true, json };
  const target = resolveTarget(args.values.get('target'), args.lists.get('grip-url') ?? [], env);
  const input = buildInput(args, target);
  const maxBatch = target.kind === 'origin' ? ORIGIN_MAX_BATCH : 1000;
  const tuning: PublishTuning = {
    batchSize: integerOption(args, 'batch', Math.min(DEFAULT_TUNING.batchSize, maxBatch), 1, maxBatch),
    concurrency: integerOption(args, 'concurrency', DEFAULT_TUNING.concurrency, 1, 64),
    timeoutMs: integerOption(args, 'timeout', DEFAULT_TUNING.timeoutMs, 100, 600_000),
    attempts: integerOption(args, 'retries', DEFAULT_TUNING.attempts - 1, 0, 10) + 1,
  };
  return { help: false, command: { input, target, json, tuning } };
}
