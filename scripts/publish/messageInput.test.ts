import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { interpretData, parseBulkLine, readBulkMessages, readLines } from './messageInput.ts';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('interpretData', () => {
  it('is JSON when it parses, else the text', () => {
    expect(interpretData('{"a":1}', 'auto')).toEqual({ a: 1 });
    expect(interpretData('42', 'auto')).toBe(42);
    expect(interpretData('"quoted"', 'auto')).toBe('quoted');
    expect(interpretData('null', 'auto')).toBeNull();
    expect(interpretData('hello world', 'auto')).toBe('hello world');
    expect(interpretData('', 'auto')).toBe('');
  });

  it('--raw keeps the text; --json-data insists on JSON', () => {
    expect(interpretData('42', 'raw')).toBe('42');
    expect(interpretData('{"a":1}', 'raw')).toBe('{"a":1}');
    expect(interpretData('[1]', 'json')).toEqual([1]);
    expect(() => interpretData('hello', 'json')).toThrow(/not valid JSON/);
  });
});

describe('parseBulkLine', () => {
  it('with a channel: the line is the data', () => {
    expect(parseBulkLine('{"n":1}', 3, 'news', 'auto')).toEqual({ ok: true, message: { channel: 'news', data: { n: 1 }, line: 3 } });
    expect(parseBulkLine('plain', 4, 'news', 'auto')).toEqual({ ok: true, message: { channel: 'news', data: 'plain', line: 4 } });
    expect(parseBulkLine('plain', 5, 'news', 'json')).toMatchObject({ ok: false, line: 5, error: /not valid JSON/ });
  });

  it('without a channel: an NDJSON item with the origin rules', () => {
    expect(parseBulkLine('{"channel":"a","data":[1],"id":"9"}', 1, undefined, 'auto')).toEqual({
      ok: true,
      message: { channel: 'a', data: [1], id: '9', line: 1 },
    });
    expect(parseBulkLine('{"channel":"a","data":null}', 2, undefined, 'auto')).toEqual({
      ok: true,
      message: { channel: 'a', data: null, line: 2 },
    });
  });

  it.each([
    ['hello', /not a JSON item/],
    ['[1,2]', /must be an object/],
    ['{"data":1}', /"channel" must be/],
    ['{"channel":"a:b","data":1}', /"channel" must be/],
    ['{"channel":".a","data":1}', /"channel" must be/],
    ['{"channel":"a"}', /"data" is required/],
    ['{"channel":"a","data":1,"id":7}', /"id" must be a decimal string/],
    ['{"channel":"a","data":1,"id":"07"}', /"id" must be a decimal string/],
  ])('refuses %s', (line, error) => {
    expect(parseBulkLine(line, 8, undefined, 'auto')).toMatchObject({ ok: false, line: 8, error: expect.stringMatching(error) });
  });
});

describe('readLines', () => {
  it('splits LF and CRLF, numbers lines from 1, skips blank ones, keeps a last line without newline', async () => {
    const lines = await collect(readLines(Readable.from(['a\r\nb\n', '\n   \nc', 'd\n', 'e'])));
    expect(lines).toEqual([
      { line: 1, text: 'a' },
      { line: 2, text: 'b' },
      { line: 5, text: 'cd' },
      { line: 6, text: 'e' },
    ]);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('héllo → 世界\nnext\n', 'utf8');
    const chunks = Array.from(bytes, (byte) => Buffer.from([byte]));
    expect((await collect(readLines(Readable.from(chunks)))).map((l) => l.text)).toEqual(['héllo → 世界', 'next']);
  });

  it('yields nothing for empty input', async () => {
    expect(await collect(readLines(Readable.from([])))).toEqual([]);
  });
});

describe('readBulkMessages', () => {
  it('parses each line of a stream', async () => {
    const input = Readable.from([Buffer.from('{"channel":"a","data":1}\nbad\n{"channel":"b","data":2}\n')]);
    expect(await collect(readBulkMessages(input, undefined, 'auto'))).toMatchObject([
      { ok: true, message: { channel: 'a', data: 1, line: 1 } },
      { ok: false, line: 2 },
      { ok: true, message: { channel: 'b', data: 2, line: 3 } },
    ]);
  });
});
