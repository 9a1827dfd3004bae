import { describe, expect, it } from 'vitest';
import { argumentsWithProfile, benchPushpinProfile, splitPushpinProfileOption } from './benchEnv.ts';
import { DEFAULT_PUSHPIN_PROFILE } from '../pushpin/pushpinProfiles.ts';

describe('the Pushpin profile of a benchmark run', () => {
  it('takes --pushpin-profile out of the arguments, in either form', () => {
    expect(splitPushpinProfileOption(['fanout', '--quick', '--pushpin-profile', 'fanout-node'])).toEqual({ rest: ['fanout', '--quick'], profile: 'fanout-node' });
    expect(splitPushpinProfileOption(['--pushpin-profile=gentle', 'delivery'])).toEqual({ rest: ['delivery'], profile: 'gentle' });
    expect(splitPushpinProfileOption(['delivery'])).toEqual({ rest: ['delivery'] });
    expect(splitPushpinProfileOption(['delivery', '--pushpin-profile'])).toEqual({ rest: ['delivery'], profile: '' });
  });

  it('reads PUSHPIN_PROFILE (where run.ts puts the option), and names the profile in the command to run again', () => {
    expect(benchPushpinProfile({})).toBe(DEFAULT_PUSHPIN_PROFILE);
    expect(benchPushpinProfile({ PUSHPIN_PROFILE: 'fanout' })).toBe('fanout');
    expect(() => benchPushpinProfile({ PUSHPIN_PROFILE: 'x' })).toThrow(/PUSHPIN_PROFILE must be one of/);
    expect(argumentsWithProfile(['--quick', '--pushpin-profile=gentle'], 'fanout')).toEqual(['--quick', '--pushpin-profile', 'fanout']);
  });
});
