// Interprets a text/event-stream as the WHATWG EventSource does ("Interpreting an event stream",
// html.spec.whatwg.org), for clients that read SSE without an EventSource (fetch streaming, Node):
// `:` starts a comment; `field: value` loses one leading space; `data` lines join with LF; `id`
// (without NUL) becomes the last event id when the block is dispatched, also for a block without data
// (the origin starts every stream with such an id-only block: the position, see `ssePosition`);
// `retry` sets the reconnection delay; a BOM at the very start is skipped.
import { createLineReader } from './lineReader.ts';

export interface ServerSentEvent {
  /** The `event:` name; "message" when the block named none. */
  type: string;
  data: string;
  /** The last event id once this block was dispatched (what a reconnect sends as Last-Event-ID). */
  lastEventId: string;
}

export interface EventStreamHandlers {
  event(event: ServerSentEvent): void;
  /** A block without data set the last event id (an EventSource dispatches nothing for it). */
  lastEventId?(id: string): void;
}

export interface EventStreamReader {
  /** Feeds decoded text. */
  push(text: string): void;
  readonly lastEventId: string;
  /** The reconnection delay the server asked for with `retry:`, if any. */
  readonly retryMs: number | undefined;
}

export function createEventStreamReader(handlers: EventStreamHandlers, initialLastEventId = ''): EventStreamReader {
  let data = '';
  let type = '';
  let idBuffer = initialLastEventId;
  let idSeen = false;
  let lastEventId = initialLastEventId;
  let retryMs: number | undefined;
  let first = true;

  const dispatch = (): void => {
    lastEventId = idBuffer;
    const sawId = idSeen;
    idSeen = false;
    if (data === '') {
      type = '';
      if (sawId) handlers.lastEventId?.(lastEventId);
      return;
    }
    const event = { type: type || 'message', data: data.slice(0, -1), lastEventId };
    data = '';
    type = '';
    handlers.event(event);
  };

  const lines = createLineReader((line) => {
    if (line === '') return dispatch();
    if (line.charCodeAt(0) === 58) return; // ':' a comment (the keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) {
        idBuffer = value;
        idSeen = true;
      }
    } else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  });

  return {
    push(text) {
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      lines.push(text);
    },
    get lastEventId() {
      return lastEventId;
    },
    get retryMs() {
      return retryMs;
    },
  };
}
