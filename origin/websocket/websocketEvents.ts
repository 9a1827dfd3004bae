// The WebSocket-over-HTTP event codec (content type application/websocket-events), as Pushpin and
// Fanout speak it: each event is `TYPE\r\n` or `TYPE <hex byte length>\r\n<content>\r\n`, several per
// body. Works on bytes, so multi-byte UTF-8 content and binary frames keep their exact lengths.

export const WEBSOCKET_EVENTS_CONTENT_TYPE = 'application/websocket-events';

export type WebSocketEventType = 'OPEN' | 'TEXT' | 'BINARY' | 'PING' | 'PONG' | 'CLOSE' | 'DISCONNECT';

const EVENT_TYPES: ReadonlySet<string> = new Set(['OPEN', 'TEXT', 'BINARY', 'PING', 'PONG', 'CLOSE', 'DISCONNECT']);

export interface WebSocketEvent {
  type: WebSocketEventType;
  /** Absent for events sent without content (OPEN, DISCONNECT, a bare CLOSE/PING/PONG). */
  content?: Buffer;
}

export class WebSocketEventsDecodeError extends Error {
  override name = 'WebSocketEventsDecodeError';
}

const CRLF = Buffer.from('\r\n');

export function decodeWebSocketEvents(body: Buffer): WebSocketEvent[] {
  const events: WebSocketEvent[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf(CRLF, at);
    if (lineEnd === -1) throw new WebSocketEventsDecodeError(`event at byte ${at} has no CRLF after its type line`);
    const line = body.toString('latin1', at, lineEnd);
    at = lineEnd + 2;
    const space = line.indexOf(' ');
    const type = space === -1 ? line : line.slice(0, space);
    if (!EVENT_TYPES.has(type)) throw new WebSocketEventsDecodeError(`unknown event type "${type.slice(0, 20)}"`);
    if (space === -1) {
      events.push({ type: type as WebSocketEventType });
      continue;
    }
    const hex = line.slice(space + 1);
    if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new WebSocketEventsDecodeError(`bad content length "${hex.slice(0, 20)}"`);
    const length = parseInt(hex, 16);
    if (at + length + 2 > body.length) {
      throw new WebSocketEventsDecodeError(`${type} content of ${length} bytes runs past the end of the body`);
    }
    if (body[at + length] !== 0x0d || body[at + length + 1] !== 0x0a) {
      throw new WebSocketEventsDecodeError(`${type} content is not followed by CRLF`);
    }
    events.push({ type: type as WebSocketEventType, content: body.subarray(at, at + length) });
    at += length + 2;
  }
  return events;
}

export function encodeWebSocketEvents(events: WebSocketEvent[]): Buffer {
  const parts: Buffer[] = [];
  for (const event of events) {
    if (event.content === undefined) {
      parts.push(Buffer.from(`${event.type}\r\n`, 'latin1'));
    } else {
      parts.push(Buffer.from(`${event.type} ${event.content.length.toString(16)}\r\n`, 'latin1'), event.content, CRLF);
    }
  }
  return Buffer.concat(parts);
}

export function textEvent(text: string): WebSocketEvent {
  return { type: 'TEXT', content: Buffer.from(text, 'utf8') };
}

/** A CLOSE carrying a real status code (a code-less close reaches browsers as 1005/1006). */
export function closeEvent(code: number, reason = ''): WebSocketEvent {
  const reasonBytes = Buffer.from(reason, 'utf8');
  const content = Buffer.alloc(2 + reasonBytes.length);
  content.writeUInt16BE(code, 0);
  reasonBytes.copy(content, 2);
  return { type: 'CLOSE', content };
}

/** The status code and reason of a CLOSE event; 1005 ("no status") when it carried none. */
export function closeStatusOf(event: WebSocketEvent): { code: number; reason: string } {
  if (!event.content || event.content.length < 2) return { code: 1005, reason: '' };
  return { code: event.content.readUInt16BE(0), reason: event.content.toString('utf8', 2) };
}

/**
 * With `Sec-WebSocket-Extensions: grip` the proxy relays only frames that carry this prefix (and
 * strips it); `c:` frames are control messages for the proxy. Published ws-message items need neither.
 */
export const GRIP_MESSAGE_PREFIX = 'm:';

/** A text frame for the client, relayed by the proxy under the grip extension. */
export function clientTextEvent(text: string): WebSocketEvent {
  return textEvent(`${GRIP_MESSAGE_PREFIX}${text}`);
}

/** A GRIP control message (subscribe, unsubscribe, keep-alive, ...) for the proxy, not the client. */
export function gripControlEvent(message: Record<string, unknown>): WebSocketEvent {
  return textEvent(`c:${JSON.stringify(message)}`);
}
