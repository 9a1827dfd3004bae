import fc from 'fast-check';
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
  type WebSocketEvent,
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

describe('WebSocket-over-HTTP events: hostile bodies (property-based)', () => {
  const eventType = fc.constantFrom(...(['OPEN', 'TEXT', 'BINARY', 'PING', 'PONG', 'CLOSE', 'DISCONNECT'] as const));
  const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
  const event: fc.Arbitrary<WebSocketEvent> = fc.oneof(
    eventType.map((type) => ({ type })),
    fc.record({ type: eventType, content: bytes(300) }),
    fc.record({ type: eventType, content: fc.string({ unit: 'grapheme', maxLength: 100 }).map((s) => Buffer.from(s, 'utf8')) }),
  );
  /** Only the codec's own error may come out: anything else would be a 500 for the proxy's request. */
  const decodeOrTypedError = (body: Buffer): WebSocketEvent[] | WebSocketEventsDecodeError => {
    try {
      return decodeWebSocketEvents(body);
    } catch (error) {
      if (error instanceof WebSocketEventsDecodeError) return error;
      throw error;
    }
  };

  /** Type lines that are nearly right (any case of hex, leading zeros, stray spaces) followed by arbitrary bytes. */
  const validishBody = fc
    .array(
      fc.tuple(eventType, fc.stringMatching(/^ ?[0-9a-fA-F]{0,3} ?$/), bytes(20), fc.constantFrom('\r\n', '\n', '\r', '')),
      { maxLength: 5 },
    )
    .map((parts) =>
      Buffer.concat(parts.flatMap(([type, hex, content, end]) => [Buffer.from(`${type}${hex.length ? ' ' + hex : ''}\r\n`), content, Buffer.from(end)])),
    );

  it('decodes arbitrary bytes into events or refuses them with its typed error, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(2000), validishBody), (body) => {
        const result = decodeOrTypedError(body);
        if (!Array.isArray(result)) return;
        // Whatever it accepted survives being encoded again (lengths may be re-spelled: "0A" -> "a").
        expect(decodeWebSocketEvents(encodeWebSocketEvents(result))).toEqual(result);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes almost-valid bodies (mutated encodings) without any other exception', () => {
    const mutated = fc
      .tuple(fc.array(event, { maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([events, flips]) => {
        const body = Buffer.from(encodeWebSocketEvents(events));
        for (const [at, value] of flips) if (body.length > 0) body[at % body.length] = value;
        return body;
      });
    fc.assert(fc.property(mutated, (body) => void decodeOrTypedError(body)), { numRuns: 2000 });
  });

  it('round-trips every sequence of events it encodes', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 10 }), (events) => {
        expect(decodeWebSocketEvents(encodeWebSocketEvents(events))).toEqual(events);
      }),
    );
  });

  it('refuses every body cut inside an event (a truncated request), never returning part of it as whole', () => {
    const cut = fc.array(event, { minLength: 1, maxLength: 5 }).chain((events) => {
      const body = encodeWebSocketEvents(events);
      const boundaries = new Set<number>([0]);
      for (let i = 0, at = 0; i < events.length; i++) boundaries.add((at += encodeWebSocketEvents([events[i]!]).length));
      return fc
        .integer({ min: 1, max: body.length - 1 })
        .filter((length) => !boundaries.has(length))
        .map((length) => body.subarray(0, length));
    });
    fc.assert(
      fc.property(cut, (body) => {
        expect(decodeOrTypedError(body)).toBeInstanceOf(WebSocketEventsDecodeError);
      }),
    );
  });

  it('refuses a declared length that runs past the body, or one longer than 8 hex digits', () => {
    fc.assert(
      fc.property(eventType, bytes(50), fc.integer({ min: 1, max: 0xffffffff }), (type, content, extra) => {
        const declared = Math.min(content.length + extra, 0xffffffff);
        const body = Buffer.concat([Buffer.from(`${type} ${declared.toString(16)}\r\n`), content, Buffer.from('\r\n')]);
        expect(decodeOrTypedError(body)).toBeInstanceOf(WebSocketEventsDecodeError);
      }),
    );
    fc.assert(
      fc.property(eventType, fc.stringMatching(/^[0-9a-f]{9,20}$/), (type, hex) => {
        const error = decodeOrTypedError(Buffer.from(`${type} ${hex}\r\n\r\n`));
        expect(error).toBeInstanceOf(WebSocketEventsDecodeError);
        expect((error as Error).message).toMatch(/bad content length/);
      }),
    );
  });
});
