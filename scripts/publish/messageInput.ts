// What a message is, as typed on the command line or read from a line of bulk input. The rules:
// a message is JSON when it parses as JSON, otherwise the text itself (a JSON string); --raw always
// sends the text, --json-data insists on JSON. Bulk lines without a channel argument are items
// {"channel","data","id"?}, validated with the origin's own channel and id rules.
import { CHANNEL_NAME_RULE, isMessageId, isValidChannelName } from '../../protocol/index.ts';

export type DataMode = 'auto' | 'raw' | 'json';

/** One message on its way out; `line` numbers bulk input for error reports. */
export interface OutgoingMessage {
  channel: string;
  data: unknown;
  /** A requested id (through the origin only). */
  id?: string;
  line?: number;
}

export type ParsedLine = { ok: true; message: OutgoingMessage } | { ok: false; line: number; error: string };

export class MessageDataError extends Error {
  override name = 'MessageDataError';
}

export function interpretData(text: string, mode: DataMode): unknown {
  if (mode === 'raw') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (mode === 'json') throw new MessageDataError(`not valid JSON (${(error as Error).message})`);
    return text;
  }
}

/** A line of bulk input: data for `channel` when one is given, otherwise an NDJSON item. */
export function parseBulkLine(text: string, line: number, channel: string | undefined, mode: DataMode): ParsedLine {
  if (channel !== undefined) {
    try {
      return { ok: true, message: { channel, data: interpretData(text, mode), line } };
    } catch (error) {
      return { ok: false, line, error: (error as Error).message };
    }
  }
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch {
    return {
      ok: false,
      line,
      error: 'not a JSON item; without a channel argument each line must be {"channel":"...","data":...}',
    };
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { ok: false, line, error: 'must be an object {"channel":"...","data":...}' };
  }
  const { channel: itemChannel, data, id } = item as Record<string, unknown>;
  if (typeof itemChannel !== 'string' || !isValidChannelName(itemChannel)) {
    return { ok: false, line, error: `"channel" must be ${CHANNEL_NAME_RULE}` };
  }
  if (data === undefined) return { ok: false, line, error: '"data" is required (any JSON value)' };
  if (id !== undefined && (typeof id !== 'string' || !isMessageId(id))) {
    return { ok: false, line, error: '"id" must be a decimal string such as "42"' };
  }
  const message: OutgoingMessage = { channel: itemChannel, data, line };
  if (id !== undefined) message.id = id;
  return { ok: true, message };
}

/**
 * Splits a byte stream into lines (LF or CRLF), numbering them from 1 and skipping blank ones.
 * Decodes UTF-8 across chunk boundaries; a last line without a newline counts.
 */
export async function* readLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<{ line: number; text: string }> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let line = 0;
  const emit = function* (text: string): Generator<{ line: number; text: string }> {
    line++;
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (trimmed.trim() !== '') yield { line, text: trimmed };
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = pending.indexOf('\n', start);
    while (newline !== -1) {
      yield* emit(pending.slice(start, newline));
      start = newline + 1;
      newline = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') yield* emit(pending);
}

/** Bulk input parsed line by line. */
export async function* readBulkMessages(
  stream: AsyncIterable<Buffer | string>,
  channel: string | undefined,
  mode: DataMode,
): AsyncGenerator<ParsedLine> {
  for await (const { line, text } of readLines(stream)) yield parseBulkLine(text, line, channel, mode);
}
