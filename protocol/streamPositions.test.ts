import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEventStreamReader } from './eventStreamReader.ts';
import {
  formatStreamPosition,
  MAX_CHANNEL_NAME_LENGTH,
  MAX_MESSAGE_ID_DIGITS,
  maxStreamChannels,
  MAX_CONNECTION_SUBSCRIPTIONS,
  MAX_STREAM_POSITION_LENGTH,
  parseSseEvent,
  parseStreamChannelParam,
  parseStreamPosition,
  sseChannelPosition,
  ssePosition,
  streamChannelParam,
  streamSubscriptions,
} from './index.ts';

const channelName = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/);
const messageId = fc.oneof(fc.constant('0'), fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }).map(String));
/** A whole stream's position: up to the subscription cap of distinct channels, each with an id. */
const position = fc.uniqueArray(fc.tuple(channelName, messageId), { selector: ([c]) => c, minLength: 1, maxLength: MAX_CONNECTION_SUBSCRIPTIONS });

describe('stream positions', () => {
  it('are at most MAX_STREAM_POSITION_LENGTH long: a full stream of the longest names and ids', () => {
    expect(MAX_STREAM_POSITION_LENGTH).toBe(MAX_CONNECTION_SUBSCRIPTIONS * (MAX_CHANNEL_NAME_LENGTH + MAX_MESSAGE_ID_DIGITS + 2));
  });

  it('read back what they write, in order, for any channels and ids', () => {
    fc.assert(
      fc.property(position, (entries) => {
        const text = formatStreamPosition(entries);
        expect(text.length).toBeLessThanOrEqual(MAX_STREAM_POSITION_LENGTH);
        expect(parseStreamPosition(text)).toEqual(entries);
      }),
      { numRuns: 500 },
    );
  });

  it('survive an SSE id line and EventSource\'s Last-Event-ID unchanged', () => {
    fc.assert(
      fc.property(position, (entries) => {
        const text = formatStreamPosition(entries);
        const ids: string[] = [];
        createEventStreamReader({ event: () => {}, lastEventId: (id) => ids.push(id) }).push(ssePosition(text));
        expect(ids).toEqual([text]);
        expect(new URLSearchParams(new URLSearchParams({ lastEventId: text }).toString()).get('lastEventId')).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('refuse anything else: a bare id, empty or malformed pairs, a channel twice, too many', () => {
    for (const bad of ['', '42', 'a', 'a:', ':1', 'a:01', 'a:x', 'a:1,', ',a:1', 'a:1,,b:2', 'a:1;b:2', '.a:1', 'a:1:2', 'a b:1', 'a:1 ', `a:${'9'.repeat(19)}`]) {
      expect(parseStreamPosition(bad), bad).toEqual(expect.any(String));
    }
    expect(parseStreamPosition('a:1,b:2,a:3')).toMatch(/a is named twice/);
    const many = Array.from({ length: MAX_CONNECTION_SUBSCRIPTIONS + 1 }, (_, i) => `c${i}:${i}`).join(',');
    expect(parseStreamPosition(many)).toMatch(/at most 20 channels/);
    expect(parseStreamPosition('a'.repeat(MAX_STREAM_POSITION_LENGTH + 1))).toMatch(/at most/);
  });

  it('refuse any text that is not a list of pairs (no exception, never a partial answer)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const parsed = parseStreamPosition(text);
        if (typeof parsed === 'string') return;
        // Whatever parses is a canonical position: written again, it is the same text.
        expect(formatStreamPosition(parsed)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('a stream channel parameter', () => {
  it('names a channel, optionally with the id to resume after', () => {
    fc.assert(
      fc.property(channelName, fc.option(messageId, { nil: undefined }), (channel, since) => {
        const param = streamChannelParam({ channel, since });
        expect(parseStreamChannelParam(param)).toEqual(since === undefined ? { channel } : { channel, since });
      }),
    );
    for (const bad of ['', ':5', 'a:', 'a:x', 'a:5:6', 'a:05', '.a', 'a,b', 'a b']) expect(parseStreamChannelParam(bad), bad).toEqual(expect.any(String));
  });
});

describe('stream subscriptions', () => {
  it('count two per channel, three with member events, two more for a private stream, and fit the cap', () => {
    expect(streamSubscriptions({ channels: 10, presenceEvents: false, private: false })).toBe(20);
    expect(streamSubscriptions({ channels: 11, presenceEvents: false, private: false })).toBe(22);
    expect(streamSubscriptions({ channels: 9, presenceEvents: false, private: true })).toBe(20);
    expect(streamSubscriptions({ channels: 6, presenceEvents: true, private: true })).toBe(20);
    for (const presenceEvents of [false, true]) {
      for (const priv of [false, true]) {
        const n = maxStreamChannels({ presenceEvents, private: priv });
        expect(streamSubscriptions({ channels: n, presenceEvents, private: priv })).toBeLessThanOrEqual(MAX_CONNECTION_SUBSCRIPTIONS);
        expect(streamSubscriptions({ channels: n + 1, presenceEvents, private: priv })).toBeGreaterThan(MAX_CONNECTION_SUBSCRIPTIONS);
      }
    }
    expect(maxStreamChannels({ presenceEvents: false, private: false })).toBe(10);
  });
});

describe('the SSE position event', () => {
  it('names a channel and its position, and reads back as a position item', () => {
    const text = sseChannelPosition('news', '42');
    expect(text).toBe('event: position\ndata: {"channel":"news","lastId":"42"}\n\n');
    const items: unknown[] = [];
    createEventStreamReader({ event: (e) => items.push(parseSseEvent(e.type, e.data)) }).push(text);
    expect(items).toEqual([{ kind: 'position', channel: 'news', lastId: '42' }]);
    expect(parseSseEvent('position', '{"channel":"news","lastId":"x"}')).toMatchObject({ kind: 'invalid' });
    expect(parseSseEvent('position', '{"lastId":"4"}')).toMatchObject({ kind: 'invalid' });
  });
});
