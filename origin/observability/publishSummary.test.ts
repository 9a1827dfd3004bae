import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from './logger.ts';
import { createPublishSummary } from './publishSummary.ts';

function recordingLog() {
  const lines: Array<{ fields: unknown; message: string }> = [];
  const log = { info: (fields: unknown, message: string) => lines.push({ fields, message }) } as unknown as Logger;
  return { lines, log };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the publish summary', () => {
  it('logs one line per window with the counts, none while nothing is published', () => {
    vi.useFakeTimers();
    const { lines, log } = recordingLog();
    const summary = createPublishSummary(log, 60_000);
    vi.advanceTimersByTime(120_000);
    expect(lines).toEqual([]);
    for (let i = 0; i < 1000; i++) summary.record(1, 0, [`room-${i % 10}`]);
    summary.record(2, 1, ['room-1', 'other']);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual([{ message: 'published', fields: { requests: 1001, messages: 1002, duplicates: 1, channels: 11, seconds: 60 } }]);
    // A new window starts with the next publish.
    vi.advanceTimersByTime(300_000);
    expect(lines).toHaveLength(1);
    summary.record(1, 0, ['x']);
    summary.flush();
    expect(lines[1]!.fields).toMatchObject({ requests: 1, messages: 1, channels: 1 });
  });

  it('counts distinct channels up to a bound', () => {
    const { lines, log } = recordingLog();
    const summary = createPublishSummary(log, 60_000);
    for (let i = 0; i < 10_050; i++) summary.record(1, 0, [`c${i}`]);
    summary.flush();
    expect(lines[0]!.fields).toMatchObject({ requests: 10_050, channels: '10000+' });
  });
});
