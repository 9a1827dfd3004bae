// The readers of the streamed framings: the one line reader (protocol/lineReader.ts) and the
// event-stream reader on top of it (protocol/eventStreamReader.ts), fed text cut anywhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineReader } from './lineReader.ts';
import { createEventStreamReader, type ServerSentEvent } from './eventStreamReader.ts';
import { SSE_KEEP_ALIVE, sseEvent, ssePosition, sseReset, parseSseEvent } from './streamFraming.ts';

/** Splits `text` at the given cut points (each taken modulo the length), in order. */
function chunksOf(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => (text.length === 0 ? 0 : c % text.length)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let start = 0;
  for (const cut of at) {
    chunks.push(text.slice(start, cut));
    start = cut;
  }
  chunks.push(text.slice(start));
  return chunks;
}

function readLines(chunks: string[]): string[] {
  const lines: string[] = [];
  const reader = createLineReader((line) => lines.push(line));
  for (const chunk of chunks) reader.push(chunk);
  return lines;
}

describe('line reader', () => {
  it('hands on every terminated line, whatever the line ends and however the text is cut', () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '{', 'é', '😀', ':') });
    const ending = fc.constantFrom('\n', '\r\n', '\r');
    fc.assert(
      fc.property(fc.array(fc.tuple(line, ending)), fc.array(fc.nat()), (pairs, cuts) => {
        // A CR ending and an empty line ending in LF are a CRLF: the same text as one line.
        fc.pre(pairs.every(([, e], i) => e !== '\r' || pairs[i + 1]?.[0] !== '' || pairs[i + 1]?.[1] !== '\n'));
        const text = pairs.map(([l, e]) => l + e).join('');
        expect(readLines(chunksOf(text, cuts))).toEqual(pairs.map(([l]) => l));
      }),
    );
  });

  it('keeps an unterminated last line back', () => {
    expect(readLines(['a\nb', 'c'])).toEqual(['a']);
    expect(readLines(['a\r', '\nb\r', 'c\n'])).toEqual(['a', 'b', 'c']);
  });
});

describe('event-stream reader', () => {
  it('reads what the origin writes, however it is cut: events, the reset notice, and the position of an id-only block', () => {
    const message = { id: '7', channel: 'news', data: { text: 'two\nlines' }, ts: 1 };
    const reset = { reason: 'expired' as const, since: '3', after: '5' };
    const text = ssePosition('5') + SSE_KEEP_ALIVE + sseReset('news', reset) + sseEvent(message) + sseEvent({ channel: 'news', data: 0, ts: 2 });
    fc.assert(
      fc.property(fc.array(fc.nat()), (cuts) => {
        const seen: Array<ServerSentEvent | string> = [];
        const reader = createEventStreamReader({ event: (e) => seen.push(e), lastEventId: (id) => seen.push(`position ${id}`) });
        for (const chunk of chunksOf(text, cuts)) reader.push(chunk);
        expect(seen.map((e) => (typeof e === 'string' ? e : parseSseEvent(e.type, e.data)))).toEqual([
          'position 5',
          { kind: 'reset', channel: 'news', reset },
          { kind: 'message', message },
          { kind: 'message', message: { channel: 'news', data: 0, ts: 2 } },
        ]);
        expect(reader.lastEventId).toBe('7');
      }),
    );
  });

  it('follows the WHATWG rules: BOM, comments, one leading space, joined data, retry, ids with NUL ignored', () => {
    const seen: ServerSentEvent[] = [];
    const reader = createEventStreamReader({ event: (e) => seen.push(e) }, '1');
    reader.push('\ufeff: hi\ndata:a\ndata:  b\nevent: x\nretry: 250\n\nid: 2\0\ndata\n\n');
    expect(seen).toEqual([
      { type: 'x', data: 'a\n b', lastEventId: '1' },
      { type: 'message', data: '', lastEventId: '1' },
    ]);
    expect(reader.retryMs).toBe(250);
  });
});
