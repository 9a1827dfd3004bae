import { describe, expect, it } from 'vitest';
import { FanoutOptionsError, loadProcessesFor, MIX_SHARES, parseFanoutOptions, transportsFor } from './fanoutOptions.ts';

describe('parseFanoutOptions', () => {
  it('defaults to 1k, 5k and 10k subscribers of every transport at 2 msg/s for 20 s, with Socket.IO', () => {
    const o = parseFanoutOptions([]);
    expect(o).toMatchObject({ subscribers: [1000, 5000, 10000], transports: ['sse', 'ws', 'stream', 'poll', 'mix'], rate: 2, seconds: 20, via: 'pushpin', socketIo: true, quick: false, merge: false });
    expect(parseFanoutOptions(['--merge']).merge).toBe(true);
  });

  it('reads every option', () => {
    const o = parseFanoutOptions(['--subscribers', '100,200', '--transports=ws,mix', '--rate', '0.5', '--seconds', '3', '--via', 'edge', '--no-socket-io', '--load-processes', '3', '--drain', '4', '--out', '/tmp/x']);
    expect(o).toMatchObject({ subscribers: [100, 200], transports: ['ws', 'mix'], rate: 0.5, seconds: 3, via: 'edge', socketIo: false, loadProcesses: 3, drainSeconds: 4, outDir: '/tmp/x' });
  });

  it('--quick is a tiny run of the mix, and explicit options still win', () => {
    expect(parseFanoutOptions(['--quick'])).toMatchObject({ subscribers: [20], transports: ['mix'], seconds: 2, quick: true });
    expect(parseFanoutOptions(['--quick', '--subscribers', '7'])).toMatchObject({ subscribers: [7], transports: ['mix'] });
  });

  it.each([
    [['--subscribers', '0'], /--subscribers must be a whole number from 1 to 50000, got "0"/],
    [['--subscribers', '1e3'], /--subscribers must be a whole number/],
    [['--subscribers', '100,,200'], /empty item/],
    [['--subscribers', '99999'], /from 1 to 50000/],
    [['--transports', 'sse,carrier-pigeon'], /--transports takes sse, ws, stream, poll, mix; got "carrier-pigeon"/],
    [['--rate=-1'], /--rate must be a number above 0/],
    [['--rate', '-1'], /argument is ambiguous/],
    [['--rate', 'fast'], /--rate must be a number above 0/],
    [['--seconds', '0'], /--seconds must be a number above 0/],
    [['--via', 'cdn'], /--via takes pushpin or edge/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['fanout'], /Unexpected argument 'fanout'|positional/],
  ])('refuses %j', (args, message) => {
    expect(() => parseFanoutOptions(args)).toThrow(FanoutOptionsError);
    expect(() => parseFanoutOptions(args)).toThrow(message);
  });
});

describe('transportsFor', () => {
  it('gives every subscriber the chosen transport', () => {
    expect(transportsFor('ws', 3)).toEqual(['ws', 'ws', 'ws']);
  });

  it('splits the mix by its shares, exactly N, each transport spread through the list', () => {
    const mix = transportsFor('mix', 10000);
    expect(mix).toHaveLength(10000);
    for (const [t, share] of Object.entries(MIX_SHARES)) expect(mix.filter((x) => x === t)).toHaveLength(share * 10000);
    // Every 100 in a row hold each transport's share to within one.
    for (let i = 0; i < 10000; i += 100) {
      const slice = mix.slice(i, i + 100);
      for (const [t, share] of Object.entries(MIX_SHARES)) expect(Math.abs(slice.filter((x) => x === t).length - share * 100)).toBeLessThanOrEqual(1);
    }
  });

  it('a small mix still holds every transport', () => {
    const mix = transportsFor('mix', 20);
    expect(new Set(mix)).toEqual(new Set(['sse', 'ws', 'stream', 'poll']));
  });
});

describe('loadProcessesFor', () => {
  it('one process per 2,500 subscribers, 2 to 8, never more than subscribers', () => {
    expect(loadProcessesFor(20, undefined)).toBe(2);
    expect(loadProcessesFor(10000, undefined)).toBe(4);
    expect(loadProcessesFor(50000, undefined)).toBe(8);
    expect(loadProcessesFor(1, undefined)).toBe(1);
    expect(loadProcessesFor(10000, 3)).toBe(3);
  });
});
