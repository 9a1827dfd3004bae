import { describe, expect, it } from 'vitest';
import { MAX_OWN_MESSAGES, passOwn, recordOwn, type OwnMessages } from './ownMessages.ts';

describe('own messages', () => {
  it('moves a position through a chain of own messages, and only from where they follow it', () => {
    const own: OwnMessages = new Map();
    recordOwn(own, '11', '12');
    recordOwn(own, '12', '13');
    recordOwn(own, '20', '21');
    expect(passOwn(own, '10')).toBe('10');
    expect(passOwn(own, undefined)).toBeUndefined();
    expect(passOwn(own, '11')).toBe('13');
    expect([...own]).toEqual([['20', '21']]);
  });

  it('remembers at most MAX_OWN_MESSAGES, forgetting the oldest', () => {
    const own: OwnMessages = new Map();
    for (let i = 0; i <= MAX_OWN_MESSAGES; i++) recordOwn(own, String(100 + i), String(1000 + i));
    expect(own.size).toBe(MAX_OWN_MESSAGES);
    expect(own.has('100')).toBe(false);
  });
});
