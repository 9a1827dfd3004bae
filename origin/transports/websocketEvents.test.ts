import { describe, expect, it } from 'vitest';
import {
  clientTextEvent,
  closeEvent,
  closeStatusOf,
  decodeWebSocketEvents,
  encodeWebSocketEvents,
  gripControlEvent,
  textEvent,
  WebSocketEventsDecodeError,
} from './websocketEvents.ts';

const text = (events: ReturnType<typeof decodeWebSocketEvents>) =>
  events.map((e) => [e.type, e.content?.toString('utf8')]);

describe('WebSocket-over-HTTP events', () => {
  it('decodes several events in one body, with and without content', () => {
    const body = Buffer.from('OPEN\r\nTEXT 5\r\nhello\r\nPING\r\nTEXT 0\r\n\r\nDISCONNECT\r\n');
    expect(text(decodeWebSocketEvents(body))).toEqual([
      ['OPEN', undefined],
      ['TEXT', 'hello'],
      ['PING', undefined],
      ['TEXT', ''],
      ['DISCONNECT', undefined],
    ]);
  });

  it('counts content length in bytes (hex), so UTF-8 and CRLF inside content survive', () => {
    const message = 'héllo\r\nwörld ✓';
    const bytes = Buffer.byteLength(message);
    const body = Buffer.from(`TEXT ${bytes.toString(16)}\r\n${message}\r\nTEXT 2\r\nok\r\n`);
    expect(text(decodeWebSocketEvents(body))).toEqual([
      ['TEXT', message],
      ['TEXT', 'ok'],
    ]);
  });

  it('round-trips what it encodes, including binary content', () => {
    const events = [
      { type: 'OPEN' as const },
      textEvent('{"type":"ping"}'),
      { type: 'BINARY' as const, content: Buffer.from([0, 13, 10, 255]) },
      closeEvent(4001, 'too many'),
    ];
    const encoded = encodeWebSocketEvents(events);
    expect(encoded.toString('latin1').startsWith('OPEN\r\nTEXT f\r\n{"type":"ping"}\r\nBINARY 4\r\n')).toBe(true);
    expect(decodeWebSocketEvents(encoded)).toEqual(events);
  });

  it('encodes close codes big-endian and reads them back', () => {
    const event = closeEvent(1000, 'bye');
    expect([...event.content!.subarray(0, 2)]).toEqual([0x03, 0xe8]);
    expect(closeStatusOf(event)).toEqual({ code: 1000, reason: 'bye' });
    expect(closeStatusOf({ type: 'CLOSE' })).toEqual({ code: 1005, reason: '' });
  });

  it('prefixes frames for the client with m:, as the grip extension requires', () => {
    expect(clientTextEvent('{"type":"pong"}').content!.toString()).toBe('m:{"type":"pong"}');
  });

  it('writes GRIP control messages with the c: prefix', () => {
    const event = gripControlEvent({ type: 'subscribe', channel: 'ws:news' });
    expect(event.content!.toString()).toBe('c:{"type":"subscribe","channel":"ws:news"}');
  });

  it.each([
    ['OPEN', /no CRLF/],
    ['HELLO\r\n', /unknown event type/],
    ['TEXT zz\r\nab\r\n', /bad content length/],
    ['TEXT 10\r\nab\r\n', /runs past the end/],
    ['TEXT 1\r\nabc\r\n', /not followed by CRLF/],
  ])('refuses %j', (body, message) => {
    expect(() => decodeWebSocketEvents(Buffer.from(body))).toThrow(WebSocketEventsDecodeError);
    expect(() => decodeWebSocketEvents(Buffer.from(body))).toThrow(message);
  });
});
