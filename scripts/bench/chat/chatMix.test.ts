import { describe, expect, it } from 'vitest';
import { MIX_SHARES } from '../fanout/fanoutOptions.ts';
import { DEFAULT_MIX, formatMix, mixCounts, parseMix, transportsInOrder } from './chatMix.ts';

describe('parseMix', () => {
  it('reads weights and normalises them', () => {
    expect(parseMix('sse=45,ws=35,stream=18,poll=2')).toEqual({ sse: 0.45, ws: 0.35, stream: 0.18, poll: 0.02 });
    expect(parseMix('sse=1, ws=1')).toEqual({ sse: 0.5, ws: 0.5, stream: 0, poll: 0 });
  });
  it('takes one transport name', () => {
    expect(parseMix('stream')).toEqual({ sse: 0, ws: 0, stream: 1, poll: 0 });
  });
  it('says what is wrong', () => {
    expect(parseMix('sse=1,pigeon=2')).toContain('unknown transport "pigeon"');
    expect(parseMix('sse')).not.toBeTypeOf('string');
    expect(parseMix('sse=')).toContain('is not transport=weight');
    expect(parseMix('sse=0')).toBe('the weights add up to nothing');
  });
  it('defaults to the fan-out benchmark mix and prints it back', () => {
    expect(DEFAULT_MIX).toEqual(MIX_SHARES);
    expect(formatMix(DEFAULT_MIX)).toBe('sse=45,ws=35,stream=18,poll=2');
  });
});

describe('transportsInOrder', () => {
  it('gives each transport its share, the remainder to the largest fractions', () => {
    expect(mixCounts(DEFAULT_MIX, 1000)).toEqual({ sse: 450, ws: 350, stream: 180, poll: 20 });
    expect(mixCounts(DEFAULT_MIX, 40)).toEqual({ sse: 18, ws: 14, stream: 7, poll: 1 });
    const counts = mixCounts(DEFAULT_MIX, 7);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(7);
  });
  it('spreads every transport evenly, so each channel of 10 holds about the mix', () => {
    const order = transportsInOrder(DEFAULT_MIX, 10_000);
    for (let c = 0; c < 1000; c++) {
      const room = order.slice(c * 10, c * 10 + 10);
      const n = (t: string): number => room.filter((x) => x === t).length;
      expect(n('sse')).toBeGreaterThanOrEqual(4);
      expect(n('sse')).toBeLessThanOrEqual(5);
      expect(n('ws')).toBeGreaterThanOrEqual(3);
      expect(n('ws')).toBeLessThanOrEqual(4);
      expect(n('stream')).toBeGreaterThanOrEqual(1);
      expect(n('stream')).toBeLessThanOrEqual(2);
      expect(n('poll')).toBeLessThanOrEqual(1);
    }
    expect(order.filter((t) => t === 'poll')).toHaveLength(200);
  });
});
