import { describe, expect, it } from 'vitest';
import { closeItemsForChannel } from './gripItems.ts';

describe('closeItemsForChannel', () => {
  it('closes sse, stream and ws without prev-id by default (the old signature)', () => {
    expect(closeItemsForChannel('news')).toEqual([
      { channel: 'sse:news', formats: { 'http-stream': { action: 'close' } } },
      { channel: 'stream:news', formats: { 'http-stream': { action: 'close' } } },
      { channel: 'ws:news', formats: { 'ws-message': { action: 'close', code: 1000, reason: 'channel closed' } } },
    ]);
  });

  it('puts prev-id on the stream items only: the WebSocket subscription is not sequenced', () => {
    const items = closeItemsForChannel('news', '0');
    expect(items.map((item) => [item.channel, item['prev-id'], item.id])).toEqual([
      ['sse:news', '0', undefined],
      ['stream:news', '0', undefined],
      ['ws:news', undefined, undefined],
    ]);
    expect(JSON.stringify(items[0])).toBe('{"channel":"sse:news","prev-id":"0","formats":{"http-stream":{"action":"close"}}}');
  });
});
