import { describe, expect, it } from 'vitest';
import { cpuSecondsFromStat, openFilesLimit, peakRssFromStatus, sampleProcess, sumByName } from './processUsage.ts';

describe('processUsage', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat = '4242 (pushpin (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 3 0 1 1 1';
    expect(cpuSecondsFromStat(stat)).toBe(3.8);
  });

  it('reads VmHWM in bytes', () => {
    expect(peakRssFromStatus('Name:\tcondure\nVmHWM:\t  81234 kB\nVmRSS:\t 1 kB\n')).toBe(81234 * 1024);
  });

  it('samples this process and finds the open files limit', () => {
    const s = sampleProcess(process.pid)!;
    expect(s.cpuSeconds).toBeGreaterThan(0);
    expect(s.peakRssBytes).toBeGreaterThan(1024 * 1024);
    expect(openFilesLimit()).toBeGreaterThan(0);
    expect(sampleProcess(2 ** 22 + 12345)).toBeUndefined();
  });

  it('adds up processes of one name', () => {
    expect(sumByName([
      { name: 'load generator', cpuSeconds: 1.25, peakRssMb: 100 },
      { name: 'origin', cpuSeconds: 0.5, peakRssMb: 150 },
      { name: 'load generator', cpuSeconds: 2, peakRssMb: 110.5 },
    ])).toEqual([
      { name: 'load generator', cpuSeconds: 3.25, peakRssMb: 210.5 },
      { name: 'origin', cpuSeconds: 0.5, peakRssMb: 150 },
    ]);
  });
});
