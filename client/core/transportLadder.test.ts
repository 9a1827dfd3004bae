import { describe, expect, it } from 'vitest';
import { createLadder, ladderFailed, ladderUpgrade, ladderWorked } from './transportLadder.ts';

const settings = { fallbackAfterFailures: 2, firstUpgradeAfterMs: 100, upgradeAfterMs: 1000 };

describe('transport ladder', () => {
  it('steps down after failures in a row on the current transport, never past the last', () => {
    const ladder = createLadder();
    expect(ladderFailed(ladder, 0, 3, settings, 0)).toBe(false);
    ladderWorked(ladder, 0);
    expect(ladderFailed(ladder, 0, 3, settings, 0)).toBe(false);
    expect(ladderFailed(ladder, 0, 3, settings, 0)).toBe(true);
    expect(ladder.index).toBe(1);
    expect(ladderFailed(ladder, 0, 3, settings, 0)).toBe(false); // a late failure of the old transport
    ladderFailed(ladder, 1, 3, settings, 0);
    expect(ladderFailed(ladder, 1, 3, settings, 0)).toBe(true);
    ladderFailed(ladder, 2, 3, settings, 0);
    expect(ladderFailed(ladder, 2, 3, settings, 0)).toBe(false);
    expect(ladder.index).toBe(2);
  });

  it('tries the better one again soon after a first fall (an outage), then after a wait that doubles with each fall, and starts over once the best one works', () => {
    const ladder = createLadder();
    ladderFailed(ladder, 0, 2, settings, 0);
    ladderFailed(ladder, 0, 2, settings, 0);
    expect(ladderUpgrade(ladder, settings, 99)).toBe(false);
    expect(ladderUpgrade(ladder, settings, 100)).toBe(true);
    expect(ladder.index).toBe(0);
    // Refused again: the transport itself is blocked.
    ladderFailed(ladder, 0, 2, settings, 100);
    ladderFailed(ladder, 0, 2, settings, 100);
    expect(ladder.upgradeAt).toBe(1100);
    expect(ladderUpgrade(ladder, settings, 1100)).toBe(true);
    ladderFailed(ladder, 0, 2, settings, 1100);
    ladderFailed(ladder, 0, 2, settings, 1100);
    expect(ladder.upgradeAt).toBe(3100);
    expect(ladderUpgrade(ladder, settings, 3100)).toBe(true);
    ladderWorked(ladder, 0);
    ladderFailed(ladder, 0, 2, settings, 5000);
    ladderFailed(ladder, 0, 2, settings, 5000);
    expect(ladder.upgradeAt).toBe(5100);
  });
});
