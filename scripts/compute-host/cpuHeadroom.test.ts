import { describe, expect, it } from 'vitest';
import { CpuHeadroom, type CpuSample } from './cpuHeadroom.ts';

describe('CPU headroom', () => {
  it('says saturated once a window had under a tenth idle, and spare again once a window had more', () => {
    let time = 0;
    let sample: CpuSample = { idle: 0, total: 0 };
    let reads = 0;
    const headroom = new CpuHeadroom(
      () => {
        reads++;
        return sample;
      },
      () => time,
    );
    expect(headroom.hasSpare()).toBe(true);
    time = 300;
    sample = { idle: 5, total: 600 };
    expect(headroom.hasSpare()).toBe(false);
    // Within the window the counters are not read again.
    time = 400;
    sample = { idle: 600, total: 1200 };
    expect(headroom.hasSpare()).toBe(false);
    expect(reads).toBe(2);
    time = 600;
    expect(headroom.hasSpare()).toBe(true);
    // A window in which the counters did not move keeps the last answer.
    time = 900;
    expect(headroom.hasSpare()).toBe(true);
  });

  it('reads the real counters', () => {
    expect(typeof new CpuHeadroom().hasSpare()).toBe('boolean');
  });
});
