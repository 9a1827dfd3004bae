import { describe, expect, it } from 'vitest';
import { redactedUrl } from './redactedUrl.ts';

describe('redactedUrl', () => {
  it.each([
    ['/events/private-a?token=a.b.c', '/events/private-a?token=[redacted]'],
    ['/events/private-a?lastEventId=4&token=a.b.c&x=1', '/events/private-a?lastEventId=4&token=[redacted]&x=1'],
    ['/poll/c?TOKEN=x&access_token=y', '/poll/c?TOKEN=[redacted]&access_token=[redacted]'],
    ['/events/tokens?mytoken=1', '/events/tokens?mytoken=1'],
    ['/static/app.js', '/static/app.js'],
  ])('%s', (url, expected) => {
    expect(redactedUrl(url)).toBe(expected);
  });
});
