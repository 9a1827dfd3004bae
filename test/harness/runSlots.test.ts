import { describe, expect, it } from 'vitest';
import { runSlots } from './runSlots.ts';

describe('runSlots', () => {
  it('runs at most `count` bodies at once, the others in the order they asked, and passes on results and errors', async () => {
    const inSlot = runSlots(2);
    let now = 0;
    let most = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const bodies = [0, 1, 2, 3].map((n) =>
      inSlot(async () => {
        started.push(n);
        most = Math.max(most, ++now);
        await new Promise<void>((resolve) => releases.push(resolve));
        now--;
        if (n === 3) throw new Error('three');
        return n;
      }),
    );
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
    await settle();
    expect(started).toEqual([0, 1]);
    releases[1]!();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    releases[0]!();
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    releases[2]!();
    releases[3]!();
    expect(await Promise.allSettled(bodies)).toEqual([
      { status: 'fulfilled', value: 0 },
      { status: 'fulfilled', value: 1 },
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('three') },
    ]);
    expect(most).toBe(2);
  });
});
