import { describe, expect, it } from 'vitest';
import { DEFAULT_MIX } from './chatMix.ts';
import { channelName, compositionOf, connectionsOf, membersOf, messagesOf, publishSchedule, shareOf } from './chatPlan.ts';

describe('membersOf', () => {
  it('fills the channels one after another with the mix', () => {
    const members = membersOf(3, 4, DEFAULT_MIX);
    expect(members.map((m) => m.channel)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2].map(channelName));
    expect(compositionOf(members)).toEqual({ sse: 6, websocket: 4, stream: 2 });
  });
});

describe('sharing out', () => {
  it('gives each part every k-th item and the connections evenly', () => {
    expect(shareOf([0, 1, 2, 3, 4], 1, 2)).toEqual([1, 3]);
    expect([0, 1, 2].map((k) => connectionsOf(100, k, 3))).toEqual([34, 33, 33]);
    expect([0, 1].map((k) => connectionsOf(1, k, 2))).toEqual([1, 0]);
  });
});

describe('publishSchedule', () => {
  it('publishes rate x seconds messages on every channel, spread evenly over each interval', () => {
    const schedule = publishSchedule([0, 1, 2, 3], 4, 1, 3);
    expect(schedule).toHaveLength(messagesOf(4, 1, 3));
    expect(schedule.slice(0, 5).map((p) => [p.channel, p.atMs])).toEqual([
      [0, 0],
      [1, 250],
      [2, 500],
      [3, 750],
      [0, 1000],
    ]);
  });
  it('spreads the channels one publisher handles among all of them', () => {
    const mine = publishSchedule(shareOf([0, 1, 2, 3], 1, 2), 4, 2, 1);
    expect(mine.map((p) => [p.channel, p.atMs])).toEqual([
      [1, 125],
      [3, 375],
      [1, 625],
      [3, 875],
    ]);
  });
  it('publishes at least one message per channel', () => {
    expect(publishSchedule([0], 1, 0.1, 1)).toHaveLength(1);
  });
});
