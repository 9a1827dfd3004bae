import { describe, expect, it } from 'vitest';
import { canJoinStream, STREAM_SUBSCRIPTION_CAP } from './streamGrouping.ts';

const members = (n: number, events = false) => Array.from({ length: n }, (_, i) => ({ channel: `c${i}`, presence: { events } }));
const plain = { channel: 'x' };

describe('canJoinStream', () => {
  it('takes the first channel always, never a channel twice', () => {
    expect(canJoinStream([], plain, true, 1)).toBe(true);
    expect(canJoinStream([{ channel: 'x' }], plain, false, STREAM_SUBSCRIPTION_CAP)).toBe(false);
  });

  it('fits 10 public channels under 20 subscriptions, 9 with a token, 6 with member events', () => {
    expect(canJoinStream(members(9), plain, false, 20)).toBe(true);
    expect(canJoinStream(members(10), plain, false, 20)).toBe(false);
    expect(canJoinStream(members(8), plain, true, 20)).toBe(true);
    expect(canJoinStream(members(9), plain, true, 20)).toBe(false);
    // One member taking events opens the stream with ?presence=1: every channel counts three.
    expect(canJoinStream(members(5, true), plain, true, 20)).toBe(true);
    expect(canJoinStream(members(5), { channel: 'x', presence: { events: true } }, false, 20)).toBe(true);
    expect(canJoinStream(members(6), { channel: 'x', presence: { events: true } }, false, 20)).toBe(false);
    expect(canJoinStream(members(6, true), plain, false, 20)).toBe(false);
  });

  it('packs under a lower limit (an origin whose proxy holds fewer)', () => {
    expect(canJoinStream(members(1), plain, false, 4)).toBe(true);
    expect(canJoinStream(members(2), plain, false, 4)).toBe(false);
  });
});
