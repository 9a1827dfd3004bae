import { describe, expect, it } from 'vitest';
import { UsageError } from './exitCodes.ts';
import { buildPublishCommand, type PublishCommand } from './publishCommand.ts';

function command(argv: string[], env: Record<string, string> = {}): PublishCommand {
  const request = buildPublishCommand(argv, env);
  if (request.help) throw new Error('unexpected help');
  return request.command;
}

function usageError(argv: string[], env: Record<string, string> = {}): UsageError {
  try {
    buildPublishCommand(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${JSON.stringify(argv)}`);
}

describe('buildPublishCommand', () => {
  it('a single message to the local Pushpin by default', () => {
    const c = command(['news', '{"text":"hi"}']);
    expect(c.input).toEqual({ kind: 'single', channel: 'news', data: { text: 'hi' } });
    expect(c.target).toMatchObject({ kind: 'grip', name: 'local', endpoints: ['http://127.0.0.1:5561/publish/'] });
    expect(c.tuning).toEqual({ batchSize: 50, concurrency: 1, timeoutMs: 10_000, attempts: 4 });
    expect(c.json).toBe(false);
  });

  it('ids, raw data and tuning', () => {
    const c = command(['news', '7', '--raw', '--id', '12', '--target', 'origin', '--batch', '5', '--concurrency', '3', '--timeout', '500', '--retries', '0', '--json']);
    expect(c.input).toEqual({ kind: 'single', channel: 'news', data: '7', id: '12' });
    expect(c.tuning).toEqual({ batchSize: 5, concurrency: 3, timeoutMs: 500, attempts: 1 });
    expect(c.json).toBe(true);
  });

  it('--close, stdin and file bulk inputs', () => {
    expect(command(['news', '--close']).input).toEqual({ kind: 'close', channel: 'news' });
    const viaOrigin = command(['news', '--close', '--target', 'origin']);
    expect(viaOrigin.input).toEqual({ kind: 'close', channel: 'news' });
    expect(viaOrigin.target).toMatchObject({ kind: 'origin', baseUrl: 'http://127.0.0.1:3000' });
    expect(command(['news', '-']).input).toEqual({ kind: 'bulk', source: '-', channel: 'news', dataMode: 'auto' });
    expect(command(['--file', '-', '--json-data']).input).toEqual({ kind: 'bulk', source: '-', dataMode: 'json' });
    expect(command(['news', '--file', 'package.json']).input).toEqual({
      kind: 'bulk',
      source: 'package.json',
      channel: 'news',
      dataMode: 'auto',
    });
  });

  it('--help wins over everything else', () => {
    expect(buildPublishCommand(['bad:channel', '--help', '--json'], {})).toEqual({ help: true, json: true });
  });

  it.each([
    [[], /missing <channel>/],
    [['news'], /missing <message>/],
    [['bad channel', 'x'], /invalid channel name/],
    [['x'.repeat(129), 'x'], /invalid channel name/],
    [['news', 'a', 'b'], /too many arguments/],
    [['news', 'x', '--raw', '--json-data'], /cannot be combined/],
    [['news', 'x', '--prev-id', '1'], /unknown option --prev-id/],
    [['news', 'x', '--id', '1.5', '--target', 'origin'], /--id must be a decimal id/],
    [['news', 'x', '--id', '1234567890123456789', '--target', 'origin'], /--id must be a decimal id/],
    [['news', 'x', '--id', '0', '--target', 'origin'], /--id must be a decimal id/],
    // Straight to a proxy a message has no id: it is not in the history.
    [['news', 'x', '--id', '12'], /--id needs --target origin/],
    [['news', 'x', '--id', '12', '--grip-url', 'http://127.0.0.1:5561'], /--id needs --target origin/],
    [['news', '--close', '--id', '3', '--target', 'origin'], /--close takes only a channel/],
    [['--close'], /missing <channel> for --close/],
    [['news', '-', '--id', '3', '--target', 'origin'], /--id cannot be used with bulk input/],
    [['news', 'x', '--file', 'package.json'], /either a message or --file/],
    [['news', 'x', '--concurrency', '65'], /--concurrency must be a whole number from 1 to 64/],
    [['news', 'x', '--retries', '-1'], /--retries needs a value/],
    [['news', 'x', '--timeout', '5'], /--timeout must be a whole number from 100/],
    [['news', 'x', '--target', 'local', '--grip-url', 'http://a'], /cannot be combined/],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv).message).toMatch(message);
  });
});
