import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeJson, storedEnvelopeJson, withPrev } from '../../protocol/index.ts';
import { historyChannelFor } from '../channels/gripChannels.ts';
import { closeItemsForChannel, itemsForStoredMessage, liveItemsForMessage, MAX_ITEM_BYTES, publishedItemBytes } from './gripItems.ts';

const message = (id: string, data: unknown = id) => ({ id, channel: 'c', data, ts: 1 });

describe('items for a stored message', () => {
  it('are three: the SSE history channel (SSE event and long-poll answer), the NDJSON one, and ws, all with id and prev-id', () => {
    const items = itemsForStoredMessage(message('2', { a: 1 }), '1');
    expect(items.map((i) => i.channel)).toEqual(['history:sse:c', 'history:stream:c', 'ws:c']);
    expect(historyChannelFor('poll', 'c')).toBe('history:sse:c');
    for (const item of items) expect(item).toMatchObject({ id: '2', 'prev-id': '1' });
    // SSE and NDJSON name the id the message follows (`prev`, for the client's gap rule: stream holds carry no prev-id).
    expect(items[0]!.formats['http-stream']).toEqual({ content: 'id: 2\ndata: {"prev":"1","id":"2","channel":"c","data":{"a":1},"ts":1}\n\n' });
    expect(JSON.parse(items[0]!.formats['http-response']!.body)).toEqual({ messages: [message('2', { a: 1 })], lastId: '2' });
    expect(items[0]!.formats['http-response']).toMatchObject({ code: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
    expect(items[1]!.formats['http-stream']).toEqual({ content: '{"prev":"1","id":"2","channel":"c","data":{"a":1},"ts":1}\n' });
    expect(JSON.parse((items[2]!.formats['ws-message'] as { content: string }).content)).toEqual({ type: 'message', prev: '1', ...message('2', { a: 1 }) });
  });


  it('are the same built from the data\'s JSON text as from the data', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }), fc.integer({ min: 0, max: 2 ** 45 }), (data, id, ts) => {
        const m = { id: id.toString(), channel: 'a-b.c_1', data, ts };
        const dataJson = JSON.stringify(data);
        expect(itemsForStoredMessage(m, '0', { dataJson })).toEqual(itemsForStoredMessage(m, '0'));
        expect(storedEnvelopeJson(m, dataJson)).toBe(envelopeJson(m));
      }),
    );
  });

  it('answer a long-poll with an empty answer at the predecessor when both formats would not fit one request body', () => {
    const large = message('9', 'x'.repeat(40_000));
    const [sse] = itemsForStoredMessage(large, '8');
    expect(JSON.parse(sse!.formats['http-response']!.body)).toEqual({ messages: [], lastId: '8' });
    expect(sse!.formats['http-stream']).toEqual({ content: `id: 9\ndata: ${withPrev(JSON.stringify(large), '8')}\n\n` });
    expect(publishedItemBytes(sse!)).toBeLessThanOrEqual(MAX_ITEM_BYTES);
    // Escaping counts: a quote is 2 bytes in the envelope and 4 in an item, so 7,000 quotes take
    // 56,000 bytes for both formats (they fit) and 9,000 would take 72,000 (they do not).
    const quoted = message('9', '"'.repeat(7_000));
    expect(JSON.parse(itemsForStoredMessage(quoted, '8')[0]!.formats['http-response']!.body).messages).toHaveLength(1);
    const moreQuoted = message('9', '"'.repeat(9_000));
    expect(JSON.parse(itemsForStoredMessage(moreQuoted, '8')[0]!.formats['http-response']!.body).messages).toHaveLength(0);
    // Whichever it is, the item fits (up to the largest message publishInput accepts: 15,611 quotes).
    for (const n of [1000, 7_000, 8_000, 9_000, 15_611]) {
      expect(publishedItemBytes(itemsForStoredMessage(message('9', '"'.repeat(n)), '8')[0]!)).toBeLessThanOrEqual(MAX_ITEM_BYTES);
    }
  });

  it('name the subscribes in progress on the WebSocket item only', () => {
    const items = itemsForStoredMessage(message('5'), '4', { skipUsers: ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'] });
    expect(items.map((i) => i.meta)).toEqual([undefined, undefined, { skip_users: 'aaaaaaaaaaaa,bbbbbbbbbbbb' }]);
    expect(itemsForStoredMessage(message('5'), '4', { skipUsers: [] })[2]).not.toHaveProperty('meta');
  });

  it('name 0 (where a channel with no message is) as the predecessor of an epoch\'s first message on the history channels, so holds there take it', () => {
    const first = itemsForStoredMessage(message('1796000000000001'), '0');
    for (const item of first.slice(0, 2)) expect(item).toMatchObject({ id: '1796000000000001', 'prev-id': '0' });
    // The WebSocket channel: none (nothing there matches prev-ids; the sequencer must not wait for a predecessor).
    expect(first[2]).toMatchObject({ channel: 'ws:c', id: '1796000000000001' });
    expect(first[2]).not.toHaveProperty('prev-id');
    // Its frame still names 0 as the position before it, for the client's gap check.
    expect(JSON.parse((first[2]!.formats['ws-message'] as { content: string }).content)).toMatchObject({ prev: '0', id: '1796000000000001' });
    for (const item of itemsForStoredMessage(message('1796000000000002'), '1796000000000001')) {
      expect(item).toMatchObject({ id: '1796000000000002', 'prev-id': '1796000000000001' });
    }
  });
});

describe('items for a live-only message (straight to the proxy)', () => {
  it('go to every live channel with no id, and the envelope has none', () => {
    const items = liveItemsForMessage({ channel: 'c', data: 'hi', ts: 7 });
    expect(items.map((i) => i.channel)).toEqual(['sse:c', 'stream:c', 'poll:c', 'ws:c']);
    for (const item of items) {
      expect(item).not.toHaveProperty('id');
      expect(item).not.toHaveProperty('prev-id');
    }
    expect(items[0]!.formats['http-stream']).toEqual({ content: 'data: {"channel":"c","data":"hi","ts":7}\n\n' });
    expect(JSON.parse(items[2]!.formats['http-response']!.body)).toEqual({ messages: [{ channel: 'c', data: 'hi', ts: 7 }] });
  });
});

describe('closeItemsForChannel', () => {
  it('closes sse, stream and ws on their live channels, whatever their position', () => {
    expect(closeItemsForChannel('news')).toEqual([
      { channel: 'sse:news', formats: { 'http-stream': { action: 'close' } } },
      { channel: 'stream:news', formats: { 'http-stream': { action: 'close' } } },
      { channel: 'ws:news', formats: { 'ws-message': { action: 'close', code: 1000, reason: 'channel closed' } } },
    ]);
  });
});
