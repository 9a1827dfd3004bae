import { describe, expect, it } from 'vitest';
import { createEventStreamParser, type ParsedEvent } from './eventStreamParser.ts';

function parse(chunks: string[], initial = ''): { events: ParsedEvent[]; lastEventId: string; retryMs: number | undefined } {
  const events: ParsedEvent[] = [];
  const parser = createEventStreamParser((e) => events.push(e), initial);
  for (const chunk of chunks) parser.feed(chunk);
  return { events, lastEventId: parser.lastEventId, retryMs: parser.retryMs };
}

describe('eventStreamParser (WHATWG event stream interpretation)', () => {
  it('dispatches data with its id, joining data lines with LF', () => {
    const { events, lastEventId } = parse(['id: 7\ndata: {"a":\ndata: 1}\n\n']);
    expect(events).toEqual([{ type: 'message', data: '{"a":\n1}', lastEventId: '7' }]);
    expect(lastEventId).toBe('7');
  });

  it('an id-only block moves the last event id without an event (the origin position notice)', () => {
    const { events, lastEventId } = parse(['id: 1796000000000041\n\n'], '5');
    expect(events).toEqual([]);
    expect(lastEventId).toBe('1796000000000041');
  });

  it('handles CRLF, CR and chunks split anywhere, also inside CRLF', () => {
    const text = 'id: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\rdata:z\n\n';
    const expected = [
      { type: 'message', data: 'x', lastEventId: '1' },
      { type: 'message', data: 'y', lastEventId: '2' },
      { type: 'message', data: 'z', lastEventId: '2' },
    ];
    for (let cut = 0; cut <= text.length; cut++) expect(parse([text.slice(0, cut), text.slice(cut)]).events).toEqual(expected);
    expect(parse(text.split('')).events).toEqual(expected);
  });

  it('skips comments, reads event types and retry, ignores an id with NUL and a bad retry', () => {
    const { events, retryMs, lastEventId } = parse([': keep-alive\n\nevent: reset\ndata: {}\n\nretry: 1500\nretry: soon\nid: a\0b\ndata: q\n\n']);
    expect(events).toEqual([
      { type: 'reset', data: '{}', lastEventId: '' },
      { type: 'message', data: 'q', lastEventId: '' },
    ]);
    expect(retryMs).toBe(1500);
    expect(lastEventId).toBe('');
  });

  it('drops a leading BOM, keeps a value without the space after the colon, and a block not yet ended waits', () => {
    const { events } = parse(['\uFEFFdata:no-space\n\ndata: pending\n']);
    expect(events).toEqual([{ type: 'message', data: 'no-space', lastEventId: '' }]);
  });
});
