import { describe, expect, it } from 'vitest';
import { defaultSilenceMs, livenessAction, nextLivenessCheck } from './liveness.ts';

const idle = 3000;
const silence = defaultSilenceMs(idle);

describe('liveness', () => {
  it('probes a connection silent for two thirds of the idle time, once per period', () => {
    const clock = { lastByteAt: 0, lastMessageAt: 0, probedAt: 0 };
    expect(livenessAction(clock, 1999, idle, silence, true)).toBe('none');
    expect(livenessAction(clock, 2000, idle, silence, true)).toBe('probe');
    expect(livenessAction({ ...clock, probedAt: 2000 }, 2500, idle, silence, true)).toBe('none');
    expect(nextLivenessCheck({ ...clock, probedAt: 2000 }, idle, silence, true)).toBe(3000);
  });

  it('keep-alives do not stop the probe, only a message does', () => {
    expect(livenessAction({ lastByteAt: 2500, lastMessageAt: 0, probedAt: 0 }, 2600, idle, silence, true)).toBe('probe');
    expect(livenessAction({ lastByteAt: 2500, lastMessageAt: 1000, probedAt: 0 }, 2600, idle, silence, true)).toBe('none');
  });

  it('probes after the silence time given, when one is', () => {
    expect(livenessAction({ lastByteAt: 0, lastMessageAt: 0, probedAt: 0 }, 500, idle, 500, true)).toBe('probe');
    expect(defaultSilenceMs(45_000)).toBe(30_000);
  });

  it('calls a connection dead after the idle time with nothing at all, where keep-alives can be seen', () => {
    const silent = { lastByteAt: 0, lastMessageAt: 0, probedAt: 2000 };
    expect(livenessAction(silent, 3000, idle, silence, true)).toBe('dead');
    expect(livenessAction(silent, 3000, idle, silence, false)).toBe('none');
    expect(nextLivenessCheck(silent, idle, silence, false)).toBe(4000);
  });
});
