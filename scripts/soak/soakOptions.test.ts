import { describe, expect, it } from 'vitest';
import { DEFAULT_PUSHPIN_PROFILE } from '../pushpin/pushpinProfiles.ts';
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
      clientsPerTransport: { websocket: 1750, sse: 2250, stream: 900, poll: 100 },
      pushpinProfile: DEFAULT_PUSHPIN_PROFILE,
    });
    expect(parseSoakOptions([], { PUSHPIN_PROFILE: 'fanout' })).toMatchObject({ pushpinProfile: 'fanout' });
    expect(parseSoakOptions(['--pushpin-profile', 'fanout-node'], { PUSHPIN_PROFILE: 'fanout' })).toMatchObject({ pushpinProfile: 'fanout-node' });
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
    [['--mix', 'sse=1,udp=2'], /--mix: unknown transport "udp"/],
    [['--mix', 'sse:1'], /--mix must look like/],
    [['--mix', 'sse=0'], /every transport a weight of 0/],
    [['--pushpin-profile', 'fast'], /--pushpin-profile must be one of fanout, fanout-node, gentle, got "fast"/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSoakOptions(argv)).toThrow(SoakOptionsError);
    expect(() => parseSoakOptions(argv)).toThrow(message);
  });

  it('splits the clients by the --mix weights, the counts adding up exactly', () => {
    expect(parseSoakOptions(['--mix', 'sse=45,websocket=35,stream=18,poll=2'])!.clientsPerTransport).toEqual({ websocket: 1750, sse: 2250, stream: 900, poll: 100 });
    // `ws` is the fan-out benchmark's name for the WebSocket; ties go to the better transport.
    expect(parseSoakOptions(['--connections', '7', '--mix', 'sse=1,ws=1'])!.clientsPerTransport).toEqual({ websocket: 4, sse: 3, stream: 0, poll: 0 });
    expect(parseSoakOptions(['--connections', '10', '--mix', 'sse=1,stream=1,poll=1,websocket=1'])!.clientsPerTransport).toEqual({ websocket: 3, sse: 3, stream: 2, poll: 2 });
    expect(parseSoakOptions(['--connections', '10'])!.clientsPerTransport).toEqual({ websocket: 4, sse: 4, stream: 2, poll: 0 });
  });
});
