import { describe, expect, it } from 'vitest';
import { parseSoakOptions, SoakOptionsError } from './soakOptions.ts';

describe('soak options', () => {
  it('defaults to 5 minutes of 5,000 connections straight to Pushpin', () => {
    expect(parseSoakOptions([])).toEqual({
      minutes: 5,
      connections: 5000,
      via: 'pushpin',
      channels: 10,
      publishIntervalMs: 1000,
      sampleSeconds: 10,
      reconnectEverySeconds: 120,
    });
    expect(parseSoakOptions(['--minutes', '0.2', '--connections', '200', '--via', 'edge'])).toMatchObject({ minutes: 0.2, connections: 200, via: 'edge' });
    expect(parseSoakOptions(['--help'])).toBeUndefined();
  });

  it.each([
    [['--minutes', '0'], /--minutes must be between 0.1 and 240/],
    [['--minutes', 'five'], /--minutes must be a number/],
    [['--connections', '2.5'], /--connections must be a whole number/],
    [['--connections', '100000'], /--connections must be between 4 and 20000/],
    [['--via', 'udp'], /--via must be pushpin or edge/],
    [['--sample-seconds', ''], /--sample-seconds must be a whole number/],
    [['--minuts', '1'], /Unknown option '--minuts'/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSoakOptions(argv)).toThrow(SoakOptionsError);
    expect(() => parseSoakOptions(argv)).toThrow(message);
  });
});
