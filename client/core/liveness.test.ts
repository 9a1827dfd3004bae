import { describe, expect, it } from 'vitest';
import { livenessAction, nextLivenessCheck } from './liveness.ts';

const idle = 3000;

describe('liveness', () => {
  it('probes a connection silent for two thirds of the idle time, once per period', () => {
    const clock = { lastByteAt: 0, lastMessageAt: 0, probedAt: 0 };
    expect(livenessAction(clock, 1999, idle, true)).toBe('none');
    expect(livenessAction(clock, 2000, idle, true)).toBe('probe');
    expect(livenessAction({ ...clock, probedAt: 2000 }, 2500, idle, true)).toBe('none');
    expect(nextLivenessCheck({ ...clock, probedAt: 2000 }, idle, true)).toBe(3000);
  });

  it('keep-alives do not stop the probe, only a message does', () => {
    expect(livenessAction({ lastByteAt: 2500, lastMessageAt: 0, probedAt: 0 }, 2600, idle, true)).toBe('probe');
    expect(livenessAction({ lastByteAt: 2500, lastMessageAt: 1000, probedAt: 0 }, 2600, idle, true)).toBe('none');
  });

  it('calls a connection dead after the idle time with nothing at all, where keep-alives can be seen', () => {
    const silent = { lastByteAt: 0, lastMessageAt: 0, probedAt: 2000 };
    expect(livenessAction(silent, 3000, idle, true)).toBe('dead');
    expect(livenessAction(silent, 3000, idle, false)).toBe('none');
    expect(nextLivenessCheck(silent, idle, false)).toBe(4000);
  });
});
