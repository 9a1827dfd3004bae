import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clientFrames, closeReplyCode, MAX_CLIENT_FRAME_BYTES, parseClientFrame, parseServerFrame, serverFrames, wsMessageFrame } from './index.ts';

describe('WebSocket JSON protocol', () => {
  it.each([
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"subscribe","channel":"news"}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"subscribe","channel":"news","since":"42"}', { type: 'subscribe', channel: 'news', since: '42' }],
    ['{"type":"subscribe","channel":"news","since":null}', { type: 'subscribe', channel: 'news' }],
    ['{"type":"unsubscribe","channel":"a.b-c_d"}', { type: 'unsubscribe', channel: 'a.b-c_d' }],
    ['{"type":"publish","channel":"c","data":{"x":[1]}}', { type: 'publish', channel: 'c', data: { x: [1] } }],
    ['{"type":"publish","channel":"c","data":null}', { type: 'publish', channel: 'c', data: null }],
    ['{"type":"publish","channel":"c","data":1,"skipSelf":true}', { type: 'publish', channel: 'c', data: 1, skipSelf: true }],
    ['{"type":"publish","channel":"c","data":1,"skipSelf":false}', { type: 'publish', channel: 'c', data: 1 }],
    [
      '{"type":"subscribe","channel":"private-c","token":"a.b.c","presence":true,"presenceEvents":true}',
      { type: 'subscribe', channel: 'private-c', token: 'a.b.c', presence: true, presenceEvents: true },
    ],
    ['{"type":"subscribe","channel":"c","presenceEvents":true,"presence":null}', { type: 'subscribe', channel: 'c', presenceEvents: true }],
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
    ['{"type":"subscribe","channel":"c","presence":"yes"}', 'invalid_frame'],
    ['{"type":"subscribe","channel":"c","presenceEvents":1}', 'invalid_frame'],
    ['{"type":"publish","channel":"c","data":1,"skipSelf":"true"}', 'invalid_frame'],
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

describe('client and server frames round trip', () => {
  const channel = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,20}$/);
  const id = fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }).map(String);
  const json = fc.jsonValue();

  it('every client frame a client builds parses back to the command it meant', () => {
    fc.assert(
      fc.property(channel, fc.option(id, { nil: undefined }), fc.option(fc.stringMatching(/^[\w-]+\.[\w-]*\.[\w-]*$/), { nil: undefined }), json, fc.boolean(), fc.boolean(), (c, since, token, data, presence, presenceEvents) => {
        expect(parseClientFrame(clientFrames.subscribe(c, { since, token, presence, presenceEvents }))).toEqual({
          type: 'subscribe',
          channel: c,
          ...(since !== undefined ? { since } : {}),
          ...(token !== undefined ? { token } : {}),
          ...(presence ? { presence } : {}),
          ...(presenceEvents ? { presenceEvents } : {}),
        });
        expect(parseClientFrame(clientFrames.publish(c, 1, { skipSelf: presence }))).toEqual({ type: 'publish', channel: c, data: 1, ...(presence ? { skipSelf: true } : {}) });
        expect(parseClientFrame(clientFrames.unsubscribe(c))).toEqual({ type: 'unsubscribe', channel: c });
        // JSON drops -0 and undefined the same way on both ends.
        expect(parseClientFrame(clientFrames.publish(c, data))).toEqual({ type: 'publish', channel: c, data: JSON.parse(JSON.stringify(data)) });
        expect(parseClientFrame(clientFrames.ping())).toEqual({ type: 'ping' });
      }),
    );
  });

  it('every server frame the origin builds parses back', () => {
    fc.assert(
      fc.property(channel, id, id, json, fc.nat(), (c, a, b, data, ts) => {
        const message = { id: a, channel: c, data: JSON.parse(JSON.stringify(data)) as unknown, ts };
        expect(parseServerFrame(wsMessageFrame(message, undefined, b))).toEqual({ type: 'message', prev: b, ...message });
        expect(parseServerFrame(wsMessageFrame({ channel: c, data: message.data, ts }))).toEqual({ type: 'message', channel: c, data: message.data, ts });
        const reset = { reason: 'ahead' as const, since: a, after: b };
        expect(parseServerFrame(serverFrames.subscribed(c, b, reset))).toEqual({ type: 'subscribed', channel: c, lastId: b, reset });
        expect(parseServerFrame(serverFrames.unsubscribed(c))).toEqual({ type: 'unsubscribed', channel: c });
        expect(parseServerFrame(serverFrames.refreshed(c, ts))).toEqual({ type: 'refreshed', channel: c, expiresAt: ts });
        expect(parseServerFrame(serverFrames.published(c, a))).toEqual({ type: 'published', channel: c, id: a });
        expect(parseServerFrame(serverFrames.published(c, a, b))).toEqual({ type: 'published', channel: c, id: a, prev: b });
        expect(parseServerFrame(serverFrames.pong({ [c]: a }))).toEqual({ type: 'pong', lastIds: { [c]: a } });
        expect(parseServerFrame(serverFrames.error({ error: 'subscribe_busy', message: 'm', channel: c }))).toEqual({
          type: 'error',
          code: 'subscribe_busy',
          message: 'm',
          channel: c,
        });
      }),
    );
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1]', 'not a JSON object'],
    ['{"type":"message","channel":"c","data":1}', 'not an envelope'],
    ['{"type":"message","id":"01","channel":"c","data":1,"ts":1}', 'not an envelope'],
    ['{"type":"message","prev":"x","id":"1","channel":"c","data":1,"ts":1}', 'prev'],
    ['{"type":"subscribed","channel":"c"}', 'lastId'],
    ['{"type":"subscribed","channel":"c","lastId":"1","reset":{"reason":"gone"}}', 'reset'],
    ['{"type":"pong","lastIds":{"c":"x"}}', 'lastIds'],
    ['{"type":"error","code":1}', 'code'],
    ['{"type":"shout"}', 'unknown type'],
  ])('says what is wrong with the server frame %s', (text, complaint) => {
    const parsed = parseServerFrame(text);
    expect(typeof parsed).toBe('string');
    expect(parsed).toContain(complaint);
  });
});
