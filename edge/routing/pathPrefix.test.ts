import { describe, expect, it } from 'vitest';
import { longestMatchingPrefix, matchesPathPrefix } from './pathPrefix.ts';

describe('matchesPathPrefix', () => {
  it.each([
    ['/events/news', '/events/', true],
    ['/events/', '/events/', true],
    ['/events', '/events/', false],
    ['/eventsx/news', '/events/', false],
    ['/ws', '/ws', true],
    ['/ws/chat', '/ws', true],
    ['/wsdl', '/ws', false],
    ['/w', '/ws', false],
    ['/', '/', true],
    ['/anything', '/', true],
  ])('%s against %s -> %s', (path, prefix, expected) => {
    expect(matchesPathPrefix(path, prefix)).toBe(expected);
  });
});

describe('longestMatchingPrefix', () => {
  it.each([
    ['/static/img/a.png', ['/static/', '/static/img/'], '/static/img/'],
    ['/static/a.css', ['/static/img/', '/static/'], '/static/'],
    ['/other', ['/static/'], undefined],
    ['/x', [], undefined],
  ])('%s among %j -> %s', (path, prefixes, expected) => {
    expect(longestMatchingPrefix(path, prefixes)).toBe(expected);
  });
});
