import { describe, expect, it } from 'vitest';
import { closeReplyCode, MAX_CLIENT_FRAME_BYTES, parseClientFrame, serverFrames } from './wsProtocol.ts';

describe('WebSocket JSON protocol', () => {
  it.each([
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"subscribe","channel":"news"}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"subscribe","channel":"news","since":"42"}', { type: 'subscribe', channel: 'news', since: '42' }],
    ['{"type":"subscribe","channel":"news","since":null}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"unsubscribe","channel":"a.b-c_d"}', { type: 'unsubscribe', channel: 'a.b-c_d' }],
    ['{"type":"publish","channel":"c","data":{"x":[1]}}', { type: 'publish', channel: 'c', data: { x: [1] } }],
    ['{"type":"publish","channel":"c","data":null}', { type: 'publish', channel: 'c', data: null }],
  ])('parses %s', (frame, command) => {
    expect(parseClientFrame(frame)).toEqual(command);
  });

  it.each([
    ['not json', 'invalid_json'],
    ['[1,2]', 'invalid_frame'],
    ['"ping"', 'invalid_frame'],
    ['{}', 'unknown_type'],
    ['{"type":"shout"}', 'unknown_type'],
    ['{"type":"subscribe"}', 'invalid_channel'],
    ['{"type":"subscribe","channel":"ws:news"}', 'invalid_channel'],
    ['{"type":"subscribe","channel":"news","since":42}', 'invalid_since'],
    ['{"type":"subscribe","channel":"news","since":"-1"}', 'invalid_since'],
    ['{"type":"unsubscribe","channel":""}', 'invalid_channel'],
    ['{"type":"publish","channel":"c"}', 'invalid_message'],
    ['{"type":"publish","channel":"c","data":1,"id":"x"}', 'invalid_message'],
    // Clients never choose ids: a chosen one (19 digits broke a channel for every later reconnect) is refused.
    ['{"type":"publish","channel":"c","data":1,"id":"7"}', 'invalid_message'],
    ['{"type":"publish","channel":"c","data":1,"id":"1234567890123456789"}', 'invalid_message'],
    [JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) }), 'invalid_frame'],
  ])('refuses %s with %s', (frame, code) => {
    expect(parseClientFrame(frame)).toMatchObject({ error: code });
  });

  it('builds server frames', () => {
    expect(JSON.parse(serverFrames.subscribed('c', '5'))).toEqual({ type: 'subscribed', channel: 'c', lastId: '5' });
    const reset = { reason: 'expired' as const, since: '3', after: '9' };
    expect(JSON.parse(serverFrames.subscribed('c', '9', reset))).toEqual({ type: 'subscribed', channel: 'c', lastId: '9', reset });
    expect(JSON.parse(serverFrames.error({ error: 'invalid_json', message: 'm' }))).toEqual({
      type: 'error',
      code: 'invalid_json',
      message: 'm',
    });
    expect(JSON.parse(serverFrames.pong())).toEqual({ type: 'pong' });
  });

  it.each([
    [1000, 1000],
    [1001, 1001],
    [1005, 1000],
    [4001, 4001],
    [3000, 3000],
    [0, 1002],
    [999, 1002],
    [1004, 1002],
    [1006, 1002],
    [1015, 1002],
    [2999, 1002],
    [5000, 1002],
    [65535, 1002],
  ])('answers a client close with code %i with %i', (received, answered) => {
    expect(closeReplyCode(received)).toBe(answered);
  });
});
