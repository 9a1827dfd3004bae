import { describe, expect, it } from 'vitest';
import { handoffHeaders } from './fanoutHandoff.ts';

describe('handoffHeaders (as Viceroy builds the request to Pushpin)', () => {
  it('keeps protected headers from the downstream request, the rest from the guest', () => {
    const original: Array<[string, string]> = [
      ['host', 'edge.example'],
      ['upgrade', 'websocket'],
      ['connection', 'Upgrade'],
      ['sec-websocket-key', 'abc'],
      ['x-client', 'original'],
    ];
    const guest: Array<[string, string]> = [
      ['host', 'guest-set'],
      ['upgrade', 'h2c'],
      ['x-client', 'rewritten'],
      ['x-added', 'yes'],
      ['pushpin-route', 'forged'],
    ];
    const headers = handoffHeaders(original, guest, '127.0.0.1:7677', 'origin');
    expect(headers).toEqual([
      ['host', '127.0.0.1:7677'],
      ['upgrade', 'websocket'],
      ['connection', 'Upgrade'],
      ['sec-websocket-key', 'abc'],
      ['x-client', 'rewritten'],
      ['x-added', 'yes'],
      ['pushpin-route', 'origin'],
    ]);
  });
});
