// The text/event-stream parser of the WHATWG EventSource (html.spec.whatwg.org, "Interpreting an event
// stream"), for the benchmark's SSE subscribers. Hand-written instead of the `eventsource` package:
// that one reads through fetch and web streams and cost 3.5x the CPU per event here (55 us against
// 16 us), CPU a 2-core benchmark would take from the systems it measures. Same rules: lines end in
// CRLF, LF or CR; `:` starts a comment; `field: value` loses one leading space; `data` lines join with
// LF; `id` (without NUL) becomes the last event id when the block is dispatched, even a block without
// data (so an id-only block moves the position a reconnect resumes from); `retry` sets the reconnection delay.

export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

export interface EventStreamParser {
  /** Feeds decoded text; calls `onEvent` for every complete event. */
  feed(text: string): void;
  /** The last event id so far (what a reconnect sends as Last-Event-ID). */
  readonly lastEventId: string;
  /** The reconnection delay the server asked for with `retry:`, if any. */
  readonly retryMs: number | undefined;
}

export function createEventStreamParser(onEvent: (event: ParsedEvent) => void, initialLastEventId = ''): EventStreamParser {
  let pending = '';
  let firstChunk = true;
  let sawCr = false;
  let data = '';
  let type = '';
  let idBuffer = initialLastEventId;
  let lastEventId = initialLastEventId;
  let retryMs: number | undefined;

  const dispatch = (): void => {
    lastEventId = idBuffer;
    if (data === '') {
      type = '';
      return;
    }
    const event = { type: type || 'message', data: data.endsWith('\n') ? data.slice(0, -1) : data, lastEventId };
    data = '';
    type = '';
    onEvent(event);
  };

  const line = (text: string): void => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) idBuffer = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) retryMs = Number(value);
    }
  };

  return {
    feed(text) {
      if (firstChunk && text.length > 0) {
        firstChunk = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      // A CR at the end of the last chunk may be the first half of a CRLF.
      if (sawCr && text.startsWith('\n')) text = text.slice(1);
      sawCr = false;
      pending += text;
      let start = 0;
      for (let i = 0; i < pending.length; i++) {
        const c = pending.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        line(pending.slice(start, i));
        if (c === 13) {
          if (i + 1 === pending.length) sawCr = true;
          else if (pending.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
      pending = pending.slice(start);
    },
    get lastEventId() {
      return lastEventId;
    },
    get retryMs() {
      return retryMs;
    },
  };
}
