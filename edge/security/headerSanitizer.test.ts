import { describe, expect, it } from 'vitest';
import { isProxyOnlyHeader, withoutProxyOnlyHeaders } from './headerSanitizer.ts';

describe('isProxyOnlyHeader', () => {
  it.each([
    ['Grip-Sig', true],
    ['grip-sig', true],
    ['Grip-Feature', true],
    ['Grip-Last', true],
    ['Pushpin-Route', true],
    ['pushpin-route', true],
    ['Connection-Id', true],
    ['Meta-User', true],
    ['Connection', false],
    ['Authorization', false],
    ['Accept', false],
    ['Upgrade', false],
    ['Sec-WebSocket-Key', false],
    ['Gripe', false],
    ['X-Grip-Sig', false],
  ])('%s -> %s', (name, expected) => {
    expect(isProxyOnlyHeader(name)).toBe(expected);
  });
});

describe('withoutProxyOnlyHeaders', () => {
  it('leaves forged proxy headers out of a copy, keeps the rest, and does not touch the original', () => {
    const headers = new Headers({
      'Grip-Sig': 'forged.jwt.value',
      'Grip-Last': 'sse:news; last-id=1',
      'Pushpin-Route': 'admin',
      'Connection-Id': 'abc',
      'Meta-User': 'root',
      Accept: 'text/event-stream',
      Authorization: 'Bearer x',
      'Last-Event-ID': '7',
    });
    const { headers: kept, removed } = withoutProxyOnlyHeaders(headers);
    expect(removed.sort()).toEqual(['connection-id', 'grip-last', 'grip-sig', 'meta-user', 'pushpin-route']);
    expect([...kept.keys()].sort()).toEqual(['accept', 'authorization', 'last-event-id']);
    expect([...headers.keys()]).toHaveLength(8);
  });

  it('returns a full copy and nothing removed for a clean request', () => {
    const headers = new Headers({ Accept: '*/*' });
    const { headers: kept, removed } = withoutProxyOnlyHeaders(headers);
    expect(removed).toEqual([]);
    expect(kept).not.toBe(headers);
    expect(kept.get('accept')).toBe('*/*');
  });
});
