import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compareMessageIds,
  envelopeJson,
  fitsUtf8Bytes,
  isMessageId,
  isValidChannelName,
  laterMessageId,
  NDJSON_KEEP_ALIVE,
  ndjsonExpired,
  ndjsonLine,
  ndjsonReset,
  parseHistoryPage,
  parseNdjsonLine,
  parsePollBody,
  parseSseEvent,
  pollBody,
  SSE_EVENTS,
  sseEvent,
  utf8ByteLength,
  withPrev,
  wsMessageFrame,
} from './index.ts';

const message = { id: '7', channel: 'news', data: { text: 'a "quoted"\nline', n: [1, 2] }, ts: 1700000000000 };
const envelope = { id: '7', channel: 'news', data: { text: 'a "quoted"\nline', n: [1, 2] }, ts: 1700000000000 };

describe('message framing', () => {
  it('frames an SSE event with the id and the envelope on one data line', () => {
    expect(sseEvent(message)).toBe(`id: 7\ndata: ${JSON.stringify(envelope)}\n\n`);
  });

  it('frames one NDJSON line', () => {
    expect(ndjsonLine(message)).toBe(`${JSON.stringify(envelope)}\n`);
  });

  it('frames a long-poll body with every message', () => {
    expect(JSON.parse(pollBody([message, { ...message, id: '8' }]))).toEqual({
      messages: [envelope, { ...envelope, id: '8' }],
    });
  });

  it('frames a WebSocket message exactly as serialising it whole would', () => {
    expect(wsMessageFrame(message)).toBe(JSON.stringify({ type: 'message', ...envelope }));
    expect(JSON.parse(wsMessageFrame({ ...message, data: null }))).toEqual({ type: 'message', ...envelope, data: null });
    expect(JSON.parse(wsMessageFrame(message, undefined, '6'))).toEqual({ type: 'message', prev: '6', ...envelope });
  });

  it('drops fields that are not part of the envelope', () => {
    const extra = { ...message, secret: 'x' } as typeof message;
    expect(ndjsonLine(extra)).not.toContain('secret');
  });
});

describe('reading the HTTP transports', () => {
  const reset = { reason: 'restarted' as const, since: '5', after: '1700000000000000' };

  it('reads back every NDJSON line the origin writes', () => {
    expect(parseNdjsonLine(ndjsonLine(message).trimEnd())).toEqual({ kind: 'message', message: envelope });
    expect(parseNdjsonLine(ndjsonReset('news', reset).trimEnd())).toEqual({ kind: 'reset', channel: 'news', reset });
    expect(parseNdjsonLine(ndjsonExpired('news').trimEnd())).toEqual({ kind: 'expired', channel: 'news' });
    expect(parseNdjsonLine(NDJSON_KEEP_ALIVE.trimEnd())).toEqual({ kind: 'keep-alive' });
    const live = { channel: 'news', data: 1, ts: 2 };
    expect(parseNdjsonLine(ndjsonLine(live).trimEnd())).toEqual({ kind: 'message', message: live });
  });

  it.each([
    ['{', 'not JSON'],
    ['3', 'not a JSON object'],
    ['{"channel":"c","data":1}', 'not an envelope'],
    ['{"type":"reset","channel":"c","reason":"expired"}', 'reset line'],
    ['{"type":"reset","reason":"expired","since":"1","after":"2"}', 'channel'],
    ['{"type":"shout","channel":"c"}', 'unknown status'],
  ])('says what is wrong with the NDJSON line %s', (line, complaint) => {
    const item = parseNdjsonLine(line);
    expect(item.kind).toBe('invalid');
    expect(item.kind === 'invalid' && item.reason).toContain(complaint);
  });

  it('reads the id a stream message follows (withPrev) beside the envelope, not in it; a prev that is not an id is refused', () => {
    const m = { id: '5', channel: 'c', data: { x: 1 }, ts: 2 };
    const json = withPrev(envelopeJson(m), '4');
    expect(json).toBe('{"prev":"4","id":"5","channel":"c","data":{"x":1},"ts":2}');
    expect(parseNdjsonLine(ndjsonLine(m, json).trimEnd())).toEqual({ kind: 'message', message: m, prev: '4' });
    expect(parseSseEvent('message', json)).toEqual({ kind: 'message', message: m, prev: '4' });
    expect(parseNdjsonLine(envelopeJson(m))).toEqual({ kind: 'message', message: m });
    expect(parseNdjsonLine('{"prev":7,"id":"5","channel":"c","data":1,"ts":2}')).toMatchObject({ kind: 'invalid' });
    expect(parseSseEvent('message', '{"prev":"4","channel":"c","data":1,"ts":2}')).toMatchObject({ kind: 'invalid' });
  });

  it('reads SSE events by name', () => {
    expect(parseSseEvent('message', envelopeJson(message))).toEqual({ kind: 'message', message: envelope });
    expect(parseSseEvent(SSE_EVENTS.reset, JSON.stringify({ channel: 'news', ...reset }))).toEqual({ kind: 'reset', channel: 'news', reset });
    expect(parseSseEvent(SSE_EVENTS.tokenExpired, '{"channel":"news"}')).toEqual({ kind: 'expired', channel: 'news' });
    expect(parseSseEvent('message', 'x')).toMatchObject({ kind: 'invalid' });
    expect(parseSseEvent('other', '{"channel":"news"}')).toMatchObject({ kind: 'invalid' });
  });

  it('reads long-poll answers and history pages, and says what is wrong with bad ones', () => {
    expect(parsePollBody(JSON.parse(pollBody([message], undefined, { lastId: '7', reset })))).toEqual({ messages: [envelope], lastId: '7', reset });
    expect(parsePollBody({ messages: [] })).toEqual({ messages: [] });
    expect(parsePollBody({ messages: [{}] })).toContain('messages');
    expect(parsePollBody({ messages: [], lastId: 7 })).toContain('lastId');
    const page = { channel: 'news', lastId: '9', messages: [envelope], next: '7', reset };
    expect(parseHistoryPage(page)).toEqual(page);
    expect(parseHistoryPage({ ...page, lastId: 'x' })).toContain('lastId');
    expect(parseHistoryPage({ ...page, channel: 'a:b' })).toContain('channel');
  });
});

describe('ids, names and sizes', () => {
  it('orders ids as numbers, whatever their length', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), (a, b) => {
        expect(Math.sign(compareMessageIds(String(a), String(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
        expect(laterMessageId(String(a), String(b))).toBe(String(a > b ? a : b));
      }),
    );
    expect(laterMessageId(undefined, '3')).toBe('3');
    expect(laterMessageId('3', undefined)).toBe('3');
  });

  it.each(['0', '1', '42', '999999999999999999'])('takes %s as an id', (id) => expect(isMessageId(id)).toBe(true));
  it.each(['', '01', '-1', '1.5', '1e3', '1000000000000000000', ' 1', 7])('refuses %s as an id', (id) => expect(isMessageId(id)).toBe(false));
  it.each(['a', 'A.b-c_d', 'x'.repeat(128)])('takes %s as a channel name', (c) => expect(isValidChannelName(c)).toBe(true));
  it.each(['', '.a', 'a:b', 'a b', 'x'.repeat(129), 'ü'])('refuses %s as a channel name', (c) => expect(isValidChannelName(c)).toBe(false));

  it('measures UTF-8 exactly as Node does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: 64 }), (text, limit) => {
        expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
        expect(fitsUtf8Bytes(text, limit)).toBe(Buffer.byteLength(text, 'utf8') <= limit);
      }),
    );
    expect(utf8ByteLength('\ud800')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
  });
});
