import { describe, expect, it } from 'vitest';
import { judgeMessage, positionAfter } from './deliveryRule.ts';

describe('the per-message rule', () => {
  it.each([
    ['a live-only message (no id)', '5', undefined, undefined, 'live-only'],
    ['the next message', '5', '6', '5', 'deliver'],
    ['a later one without prev (streams name none)', '5', '9', undefined, 'deliver'],
    ['the first one with no position yet', undefined, '9', '8', 'deliver'],
    ['one at the position', '5', '5', '4', 'duplicate'],
    ['one before it', '5', '3', undefined, 'duplicate'],
    ['one whose prev is not the position', '5', '7', '6', 'gap'],
    ['an old one is a duplicate even with a wrong prev', '5', '4', '1', 'duplicate'],
    ['ids compare as numbers', '99', '100', '99', 'deliver'],
  ] as const)('%s', (_what, position, id, prev, judgement) => {
    expect(judgeMessage(position, id, prev)).toBe(judgement);
  });

  it('moves the position forward only, or to where a reset says', () => {
    expect(positionAfter('5', '7')).toBe('7');
    expect(positionAfter('9', '7')).toBe('9');
    expect(positionAfter(undefined, '7')).toBe('7');
    expect(positionAfter('9', '3', { reason: 'ahead', since: '9', after: '3' })).toBe('3');
  });
});
