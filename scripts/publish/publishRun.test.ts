import { describe, expect, it } from 'vitest';
import { PublishError } from '../../origin/publishing/gripPublisher.ts';
import { exitCodeForFailures } from './failureHints.ts';
import type { ParsedLine } from './messageInput.ts';
import { runPublish, type RunEntry } from './publishRun.ts';
import { InputRejected, type PreparedMessage, type PublishSink } from './publishSinks.ts';

const tuning = { batchSize: 3, concurrency: 1, timeoutMs: 1000, attempts: 1 };

function line(n: number, channel = 'c'): ParsedLine {
  return { ok: true, message: { channel, data: n, line: n } };
}

/** A sink that records batches, can fail the Nth send, and tracks requests in flight. */
function fakeSink(options: { failOn?: number; error?: unknown; delayMs?: number } = {}) {
  const batches: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sink: PublishSink = {
    prepare(message) {
      if (message.data === 'huge') throw new InputRejected('too large');
      return { channel: message.channel, id: String(message.data), items: [] };
    },
    prepareClose: (channel) => ({ channel, id: '5', items: [] }),
    async send(batch: PreparedMessage[]) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, options.delayMs ?? 1));
      inFlight--;
      batches.push(batch.map((m) => Number(m.id)));
      if (batches.length === options.failOn) throw options.error;
      return { items: batch.length * 4, ids: batch.map((m) => m.id!) };
    },
  };
  return { sink, batches, maxInFlight: () => maxInFlight };
}

describe('runPublish', () => {
  it('batches in order and counts messages, items and ids', async () => {
    const { sink, batches } = fakeSink();
    const entries = [1, 2, 3, 4, 5, 6, 7].map((n) => line(n));
    const result = await runPublish(entries, { sink, target: 'local', tuning, keepIds: true }, { requests: 0, retries: 0 });
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(result).toMatchObject({ sent: 7, failed: 0, gripItems: 28, ids: ['1', '2', '3', '4', '5', '6', '7'], stopped: false });
    expect(exitCodeForFailures(result.failures)).toBe(0);
  });

  it('skips and reports invalid lines without stopping (exit 5)', async () => {
    const { sink, batches } = fakeSink();
    const entries: RunEntry[] = [line(1), { ok: false, line: 2, error: 'not JSON' }, { ok: true, message: { channel: 'c', data: 'huge', line: 3 } }, line(4)];
    const result = await runPublish(entries, { sink, target: 'local', tuning, keepIds: false }, { requests: 0, retries: 0 });
    expect(batches).toEqual([[1, 4]]);
    expect(result).toMatchObject({ sent: 2, failed: 2, invalid: 2 });
    expect(result.failures).toEqual([
      { kind: 'input', message: 'not JSON', line: 2 },
      { kind: 'input', message: 'too large', line: 3 },
    ]);
    expect(exitCodeForFailures(result.failures)).toBe(5);
  });

  it('stops at the first failed request; a rejection exits 4 with a hint', async () => {
    const error = new PublishError('answered 401', 'https://api.fastly.com/service/x/publish/', 401, '');
    const { sink, batches } = fakeSink({ failOn: 2, error });
    const entries = Array.from({ length: 12 }, (_, i) => line(i + 1));
    const result = await runPublish(entries, { sink, target: 'fastly', tuning, keepIds: false }, { requests: 0, retries: 0 });
    expect(batches.length).toBeLessThanOrEqual(3);
    expect(result.sent).toBe(3);
    expect(result.stopped).toBe(true);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'rejected', status: 401, hint: expect.stringMatching(/purge_select/) });
    expect(exitCodeForFailures(result.failures)).toBe(4);
  });

  it('a network failure exits 3', async () => {
    const error = new PublishError('cannot reach x: ECONNREFUSED', 'x', undefined, undefined, {
      cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    });
    const { sink } = fakeSink({ failOn: 1, error });
    const result = await runPublish([line(1)], { sink, target: 'local', tuning, keepIds: false }, { requests: 0, retries: 0 });
    expect(result.failures[0]).toMatchObject({ kind: 'network', hint: expect.stringMatching(/npm start/) });
    expect(exitCodeForFailures(result.failures)).toBe(3);
  });

  it('keeps at most --concurrency requests in flight', async () => {
    for (const concurrency of [1, 4]) {
      const fake = fakeSink({ delayMs: 5 });
      const entries = Array.from({ length: 40 }, (_, i) => line(i + 1));
      const result = await runPublish(entries, { sink: fake.sink, target: 'local', tuning: { ...tuning, concurrency }, keepIds: false }, { requests: 0, retries: 0 });
      expect(result.sent).toBe(40);
      expect(fake.maxInFlight()).toBe(concurrency);
    }
  });

  it('sends a close entry', async () => {
    const { sink, batches } = fakeSink();
    const result = await runPublish([{ ok: 'close', channel: 'c' }], { sink, target: 'local', tuning, keepIds: true }, { requests: 0, retries: 0 });
    expect(batches).toEqual([[5]]);
    expect(result.sent).toBe(1);
  });

  it('encodes the next batch while the previous request is in flight, and sends in order', async () => {
    const log: string[] = [];
    let inFlight = 0;
    const sink: PublishSink = {
      prepare: (message) => ({ channel: message.channel, id: String(message.data), items: [] }),
      prepareClose: (channel) => ({ channel, items: [] }),
      send: () => Promise.reject(new Error('the run should use encode')),
      encode(batch) {
        const ids = batch.map((m) => m.id!);
        log.push(`encode ${ids.join(',')} while ${inFlight} in flight`);
        return async () => {
          inFlight++;
          log.push(`send ${ids.join(',')}`);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          return { items: batch.length, ids };
        };
      },
    };
    const entries = [1, 2, 3, 4, 5, 6, 7].map((n) => line(n));
    const result = await runPublish(entries, { sink, target: 'local', tuning, keepIds: true }, { requests: 0, retries: 0 });
    expect(log).toEqual([
      'encode 1,2,3 while 0 in flight',
      'send 1,2,3',
      'encode 4,5,6 while 1 in flight',
      'send 4,5,6',
      'encode 7 while 1 in flight',
      'send 7',
    ]);
    expect(result).toMatchObject({ sent: 7, ids: ['1', '2', '3', '4', '5', '6', '7'] });
  });

  it('reports an encoding error at the batch\'s turn, as a failed send', async () => {
    const error = new PublishError('answered 413', 'http://127.0.0.1:5561/publish/', 413, '');
    const sent: string[] = [];
    const sink: PublishSink = {
      prepare: (message) => ({ channel: message.channel, id: String(message.data), items: [] }),
      prepareClose: (channel) => ({ channel, items: [] }),
      send: () => Promise.reject(new Error('the run should use encode')),
      encode(batch) {
        if (batch.some((m) => m.id === '5')) throw error;
        return async () => {
          await new Promise((r) => setTimeout(r, 5));
          sent.push(...batch.map((m) => m.id!));
          return { items: batch.length, ids: [] };
        };
      },
    };
    const entries = Array.from({ length: 9 }, (_, i) => line(i + 1));
    const result = await runPublish(entries, { sink, target: 'local', tuning, keepIds: false }, { requests: 0, retries: 0 });
    // The first batch still went out (its request was in flight when the second failed to encode).
    expect(sent).toEqual(['1', '2', '3']);
    // The third batch is never read: the run stops as after any failed request.
    expect(result).toMatchObject({ sent: 3, failed: 3, stopped: true });
    expect(result.failures).toEqual([expect.objectContaining({ kind: 'rejected', status: 413 })]);
  });
});
