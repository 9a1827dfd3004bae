import { describe, expect, it } from 'vitest';
import { ndjsonLine, pollBody, sseEvent, wsMessageFrame } from './messageFraming.ts';

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
