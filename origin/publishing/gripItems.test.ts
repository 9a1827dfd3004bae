import { describe, expect, it } from 'vitest';
import { closeItemsForChannel, itemsForStoredMessage, liveItemsForMessage } from './gripItems.ts';

const message = (id: string, data: unknown = id) => ({ id, channel: 'c', data, ts: 1 });

describe('items for a stored message', () => {
  it('go to the history channels of sse, stream and poll and to ws, all with id and prev-id', () => {
    const items = itemsForStoredMessage(message('2', { a: 1 }), '1');
    expect(items.map((i) => i.channel)).toEqual(['history:sse:c', 'history:stream:c', 'history:poll:c', 'ws:c']);
    for (const item of items) expect(item).toMatchObject({ id: '2', 'prev-id': '1' });
    expect(items[0]!.formats['http-stream']).toEqual({ content: 'id: 2\ndata: {"id":"2","channel":"c","data":{"a":1},"ts":1}\n\n' });
    expect(items[1]!.formats['http-stream']).toEqual({ content: '{"id":"2","channel":"c","data":{"a":1},"ts":1}\n' });
    expect(JSON.parse(items[2]!.formats['http-response']!.body)).toEqual({ messages: [message('2', { a: 1 })], lastId: '2' });
    expect(JSON.parse((items[3]!.formats['ws-message'] as { content: string }).content)).toEqual({ type: 'message', prev: '1', ...message('2', { a: 1 }) });
  });

  it('name the subscribes in progress on the WebSocket item only', () => {
    const items = itemsForStoredMessage(message('5'), '4', { skipUsers: ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'] });
    expect(items.map((i) => i.meta)).toEqual([undefined, undefined, undefined, { skip_users: 'aaaaaaaaaaaa,bbbbbbbbbbbb' }]);
    expect(itemsForStoredMessage(message('5'), '4', { skipUsers: [] })[3]).not.toHaveProperty('meta');
  });

  it('name 0 (where a channel with no message is) as the predecessor of an epoch\'s first message on the history channels, so holds there take it', () => {
    const first = itemsForStoredMessage(message('1796000000000001'), '0');
    for (const item of first.slice(0, 3)) expect(item).toMatchObject({ id: '1796000000000001', 'prev-id': '0' });
    // The WebSocket channel: none (nothing there matches prev-ids; the sequencer must not wait for a predecessor).
    expect(first[3]).toMatchObject({ channel: 'ws:c', id: '1796000000000001' });
    expect(first[3]).not.toHaveProperty('prev-id');
    // Its frame still names 0 as the position before it, for the client's gap check.
    expect(JSON.parse((first[3]!.formats['ws-message'] as { content: string }).content)).toMatchObject({ prev: '0', id: '1796000000000001' });
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
