import { describe, expect, it } from 'vitest';
import { DEFAULT_MIX } from './chatMix.ts';
import { ChatOptionsError, parseChatOptions, publisherProcessesFor, subscriberProcessesFor } from './chatOptions.ts';

describe('parseChatOptions', () => {
  it('has the defaults of the issue: 100, 1,000 and 5,000 channels x 10, 1 msg/s, connected 2 s before', () => {
    expect(parseChatOptions([])).toMatchObject({
      channels: [100, 1000, 5000],
      subscribers: 10,
      rate: 1,
      publishers: 100,
      seconds: 20,
      connectedBefore: 2,
      mix: DEFAULT_MIX,
      drainSeconds: 15,
      waitAllSeconds: 0,
      silenceCheckSeconds: 300,
      pushpinDebug: false,
      presence: false,
      socketIo: true,
      outDir: 'bench-results/chat',
    });
  });
  it('--quick is small and short; explicit options still win', () => {
    expect(parseChatOptions(['--quick'])).toMatchObject({ channels: [10], subscribers: 4, rate: 2, seconds: 3, connectedBefore: 1 });
    expect(parseChatOptions(['--quick', '--channels', '7'])).toMatchObject({ channels: [7], subscribers: 4 });
  });
  it('reads every option', () => {
    const o = parseChatOptions([
      '--channels', '100,1000', '--subscribers', '3', '--rate', '0.5', '--publishers', '20', '--seconds', '5', '--connected-before', '30',
      '--mix', 'sse', '--connect-rate', '200', '--silence-check', '0', '--drain', '5', '--wait-all', '60', '--pushpin-debug', '--presence', '--no-socket-io',
      '--load-processes', '3', '--publisher-processes', '2', '--out', 'x', '--merge',
    ]);
    expect(o).toMatchObject({
      channels: [100, 1000], subscribers: 3, rate: 0.5, publishers: 20, seconds: 5, connectedBefore: 30, connectRate: 200, silenceCheckSeconds: 0, drainSeconds: 5,
      waitAllSeconds: 60, pushpinDebug: true, presence: true, socketIo: false, loadProcesses: 3, publisherProcesses: 2, outDir: 'x', merge: true,
    });
    expect(o.mix).toEqual({ sse: 1, ws: 0, stream: 0, poll: 0 });
  });
  it.each([
    [['--channels', '0'], '--channels must be a whole number from 1'],
    [['--rate', '0'], '--rate must be a number above 0'],
    [['--holds', 'unlinked'], "Unknown option '--holds'"],
    [['--mix', 'tcp=1'], '--mix: unknown transport "tcp"'],
    [['--channels', '100000', '--subscribers', '10'], 'is over 100000 connections'],
    [['--nonsense'], "Unknown option '--nonsense'"],
  ])('refuses %j', (args, message) => {
    expect(() => parseChatOptions(args)).toThrow(ChatOptionsError);
    expect(() => parseChatOptions(args)).toThrow(message);
  });
});

describe('load processes', () => {
  it('one subscriber process per 2,500 subscribers, 2 to 8', () => {
    expect(subscriberProcessesFor(40, undefined)).toBe(2);
    expect(subscriberProcessesFor(10_000, undefined)).toBe(4);
    expect(subscriberProcessesFor(50_000, undefined)).toBe(8);
    expect(subscriberProcessesFor(1, undefined)).toBe(1);
    expect(subscriberProcessesFor(100, 5)).toBe(5);
  });
  it('one publisher process per 1,500 msg/s, 1 to 4, never more than connections or channels', () => {
    expect(publisherProcessesFor(100, 100, 100, undefined)).toBe(1);
    expect(publisherProcessesFor(5000, 100, 5000, undefined)).toBe(4);
    expect(publisherProcessesFor(5000, 2, 5000, undefined)).toBe(2);
  });
});
