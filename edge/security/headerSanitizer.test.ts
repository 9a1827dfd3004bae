import { describe, expect, it } from 'vitest';
import { isProxyOnlyHeader, removeProxyOnlyHeaders } from './headerSanitizer.ts';

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

describe('removeProxyOnlyHeaders', () => {
  it('removes forged proxy headers and keeps the rest', () => {
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
    expect(removeProxyOnlyHeaders(headers).sort()).toEqual(['connection-id', 'grip-last', 'grip-sig', 'meta-user', 'pushpin-route']);
    expect([...headers.keys()].sort()).toEqual(['accept', 'authorization', 'last-event-id']);
  });

  it('returns nothing for a clean request', () => {
    const headers = new Headers({ Accept: '*/*' });
    expect(removeProxyOnlyHeaders(headers)).toEqual([]);
    expect(headers.get('accept')).toBe('*/*');
  });
});
