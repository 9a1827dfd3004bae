import { describe, expect, it } from 'vitest';
import { createProgressLine, createRedactor, formatFailures, formatSummary } from './publishOutput.ts';
import type { RunResult } from './publishRun.ts';
import type { ResolvedTarget } from './publishTargets.ts';

const local: ResolvedTarget = {
  kind: 'grip',
  name: 'local',
  targets: [{ control_uri: 'http://127.0.0.1:5561/' }],
  endpoints: ['http://127.0.0.1:5561/publish/'],
  secrets: [],
};

function result(overrides: Partial<RunResult>): RunResult {
  return { sent: 0, failed: 0, invalid: 0, gripItems: 0, requests: 0, retries: 0, elapsedMs: 1000, failures: [], ids: [], stopped: false, ...overrides };
}

describe('createRedactor', () => {
  it('replaces every occurrence of every secret, longest first; ignores empty ones', () => {
    const redact = createRedactor(['abcd1234', 'abcd1234-long', '']);
    expect(redact('x abcd1234-long y abcd1234 z')).toBe('x *** y *** z');
    expect(createRedactor([])('unchanged')).toBe('unchanged');
  });
});

describe('formatSummary', () => {
  it('single message, close and bulk', () => {
    expect(formatSummary(result({ sent: 1 }), { kind: 'single', channel: 'c', data: 1 }, local)).toBe(
      "published to c: sse, stream, poll and ws, live only (not in the origin's history: a client that reconnects later " +
        'will not get it) → http://127.0.0.1:5561/publish/',
    );
    expect(formatSummary(result({ sent: 1 }), { kind: 'close', channel: 'c' }, local)).toBe(
      'sent a close for sse, stream and ws on c → http://127.0.0.1:5561/publish/',
    );
    const origin: ResolvedTarget = {
      kind: 'origin',
      name: 'origin',
      url: 'http://o.example/api/publish',
      baseUrl: 'http://o.example',
      token: 't',
      endpoints: ['http://o.example/api/publish'],
      secrets: ['t'],
    };
    expect(formatSummary(result({ sent: 1 }), { kind: 'close', channel: 'c' }, origin)).toBe(
      'sent a close for sse, stream and ws on c → http://o.example/api/channels/c/close',
    );
    expect(formatSummary(result({ sent: 1, ids: ['1796000000000009'] }), { kind: 'single', channel: 'c', data: 1 }, origin)).toBe(
      'published to c (id 1796000000000009): stored and published by the origin to sse, stream, poll and ws → http://o.example/api/publish',
    );
    expect(
      formatSummary(result({ sent: 2000, gripItems: 8000, requests: 40, failed: 1, invalid: 1 }), { kind: 'bulk', source: '-', dataMode: 'auto' }, local),
    ).toBe(
      'sent 2,000 messages (8,000 GRIP items in 40 requests) in 1.00 s: 2,000 msg/s, 8,000 items/s; failed 1 (1 invalid line) → http://127.0.0.1:5561/publish/',
    );
  });
});

describe('formatFailures', () => {
  it('lists at most 10 invalid lines, then a count, then request failures with hints', () => {
    const failures = [
      ...Array.from({ length: 12 }, (_, i) => ({ kind: 'input' as const, message: 'bad', line: i + 1 })),
      { kind: 'rejected' as const, message: 'answered 401', hint: 'check the token', status: 401 },
    ];
    const lines = formatFailures(failures);
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe('error: line 1: bad');
    expect(lines[10]).toBe('error: ... and 2 more invalid lines');
    expect(lines[11]).toBe('error: answered 401\n  hint: check the token');
  });
});

describe('createProgressLine', () => {
  it('draws on the stream only when enabled, and clears the line at the end', () => {
    const writes: string[] = [];
    const stream = { write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream;
    const progress = createProgressLine(stream, true);
    progress.update(result({ sent: 500, elapsedMs: 250 }));
    progress.done();
    expect(writes[0]).toMatch(/sent 500 messages · 2,000 msg\/s/);
    expect(writes[1]).toBe('\r\x1b[2K');
    const off = createProgressLine(stream, false);
    off.update(result({ sent: 1 }));
    off.done();
    expect(writes).toHaveLength(2);
  });
});

