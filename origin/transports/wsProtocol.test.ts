import { describe, expect, it } from 'vitest';
import {
  formatSubscriptionList,
  MAX_CLIENT_FRAME_BYTES,
  parseClientFrame,
  parseSubscriptionList,
  serverFrames,
} from './wsProtocol.ts';

describe('WebSocket JSON protocol', () => {
  it.each([
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"subscribe","channel":"news"}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"subscribe","channel":"news","since":"42"}', { type: 'subscribe', channel: 'news', since: '42' }],
    ['{"type":"subscribe","channel":"news","since":null}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"unsubscribe","channel":"a.b-c_d"}', { type: 'unsubscribe', channel: 'a.b-c_d' }],
    ['{"type":"publish","channel":"c","data":{"x":[1]}}', { type: 'publish', channel: 'c', data: { x: [1] } }],
    ['{"type":"publish","channel":"c","data":null,"id":"7"}', { type: 'publish', channel: 'c', data: null, id: '7' }],
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
    [JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) }), 'invalid_frame'],
  ])('refuses %s with %s', (frame, code) => {
    expect(parseClientFrame(frame)).toMatchObject({ error: code });
  });

  it('builds server frames', () => {
    expect(JSON.parse(serverFrames.subscribed('c', '5'))).toEqual({ type: 'subscribed', channel: 'c', lastId: '5' });
    expect(JSON.parse(serverFrames.error({ error: 'invalid_json', message: 'm' }))).toEqual({
      type: 'error',
      code: 'invalid_json',
      message: 'm',
    });
    expect(JSON.parse(serverFrames.pong())).toEqual({ type: 'pong' });
  });

  it('keeps the subscription list in connection meta', () => {
    expect(parseSubscriptionList(undefined)).toEqual([]);
    expect(parseSubscriptionList('a, b,a,,bad:name')).toEqual(['a', 'b']);
    expect(formatSubscriptionList(new Set(['a', 'b']))).toBe('a,b');
  });
});
