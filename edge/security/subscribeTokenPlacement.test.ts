import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeSubscribeToken } from './subscribeTokenPlacement.ts';

describe('placeSubscribeToken', () => {
  it('moves ?token= into Authorization and keeps the rest of the query', () => {
    expect(placeSubscribeToken('GET', 'https://edge.example/events/private-a?lastEventId=5&token=abc.def.ghi', null)).toEqual({
      kind: 'moved',
      url: 'https://edge.example/events/private-a?lastEventId=5',
      authorization: 'Bearer abc.def.ghi',
    });
    expect(placeSubscribeToken('HEAD', 'https://edge.example/poll/private-a?token=t', null)).toEqual({
      kind: 'moved',
      url: 'https://edge.example/poll/private-a',
      authorization: 'Bearer t',
    });
  });

  it.each([
    ['no token', 'GET', 'https://e/events/a?lastEventId=1', null],
    ['a POST (publish bodies are never rewritten)', 'POST', 'https://e/api/publish?token=t', null],
    ['an empty token', 'GET', 'https://e/events/a?token=', null],
  ])('leaves the request alone with %s', (_name, method, url, authorization) => {
    expect(placeSubscribeToken(method, url, authorization)).toEqual({ kind: 'none' });
  });

  it.each([
    ['a different Authorization', 'https://e/events/a?token=t', 'Bearer other'],
    ['another scheme', 'https://e/events/a?token=t', 'Basic dXNlcjpw'],
    ['two tokens', 'https://e/events/a?token=t&token=u', null],
  ])('refuses %s: no URL with a token goes on', (_name, url, authorization) => {
    expect(placeSubscribeToken('GET', url, authorization)).toMatchObject({ kind: 'ambiguous' });
  });

  it('takes the same token twice, in the query and the header', () => {
    expect(placeSubscribeToken('GET', 'https://e/events/a?token=t', 'Bearer t')).toEqual({ kind: 'moved', url: 'https://e/events/a', authorization: 'Bearer t' });
  });

  it('never leaves the token in the URL it returns (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.string()), (token, others) => {
        const url = new URL('https://edge.example/events/private-x');
        for (const [k, v] of Object.entries(others)) if (k !== 'token') url.searchParams.append(k, v);
        url.searchParams.append('token', token);
        const placed = placeSubscribeToken('GET', url.toString(), null);
        if (token === '') {
          expect(placed.kind).toBe('none');
          return;
        }
        expect(placed.kind).toBe('moved');
        if (placed.kind !== 'moved') return;
        expect(new URL(placed.url).searchParams.has('token')).toBe(false);
        expect(placed.authorization).toBe(`Bearer ${token}`);
        for (const [k, v] of Object.entries(others)) if (k !== 'token') expect(new URL(placed.url).searchParams.getAll(k)).toContain(v);
      }),
    );
  });
});
