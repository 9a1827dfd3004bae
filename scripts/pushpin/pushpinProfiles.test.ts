import { describe, expect, it } from 'vitest';
import { OLDEST_SUPPORTED_PUSHPIN, parsePushpinVersion } from './pushpinVersion.ts';
import {
  DEFAULT_PUSHPIN_PROFILE,
  parsePushpinProfileName,
  PROFILE_KEYS,
  profileLines,
  PUSHPIN_PROFILE_NAMES,
  PUSHPIN_PROFILES,
  PushpinProfileError,
  pushpinProfileFromEnv,
} from './pushpinProfiles.ts';

/** A profile's settings as `section.key=value`, as the generated config writes them. */
const written = (name: (typeof PUSHPIN_PROFILE_NAMES)[number], version = '1.36.0'): Record<string, number> =>
  Object.fromEntries(profileLines(name, parsePushpinVersion(version)).map((line) => [`${line.section}.${line.key}`, line.value]));

describe('Pushpin profiles', () => {
  it("fanout: Fastly's per-connection settings, its node-wide shaping off", () => {
    expect(written('fanout')).toEqual({
      'runner.client_buffer_size': 8192,
      'handler.message_rate': 0,
      'handler.message_hwm': 0,
      'handler.message_wait': 5000,
      'handler.id_cache_ttl': 60,
      'handler.connection_subscription_max': 20,
      'handler.subscription_linger': 60,
    });
  });

  it("fanout-node: fanout plus Fastly's node-wide limits", () => {
    expect(written('fanout-node')).toEqual({ ...written('fanout'), 'handler.message_rate': 2500, 'handler.message_hwm': 25000 });
  });

  it("gentle: the local stack's settings before profiles (256 KiB buffers, no shaping, no id cache)", () => {
    expect(written('gentle')).toEqual({
      'runner.client_buffer_size': 262144,
      'handler.message_rate': 0,
      'handler.message_hwm': 200000,
      'handler.message_wait': 5000,
      'handler.id_cache_ttl': 0,
      'handler.connection_subscription_max': 20,
      'handler.subscription_linger': 60,
    });
  });

  it('writes every setting on every supported version: 1.35 to 1.41 read them all, in the same sections', () => {
    for (const version of ['1.35.0', '1.36.0', '1.38.0', '1.39.1', '1.40.0', '1.41.0', '2.0.0']) {
      for (const name of PUSHPIN_PROFILE_NAMES) expect(Object.keys(written(name, version)), `${name} ${version}`).toHaveLength(7);
    }
    for (const key of Object.values(PROFILE_KEYS)) expect(key.since).toEqual(OLDEST_SUPPORTED_PUSHPIN);
  });

  it('names a one-line justification and summary for each profile', () => {
    for (const name of PUSHPIN_PROFILE_NAMES) {
      expect(PUSHPIN_PROFILES[name].name).toBe(name);
      for (const text of [PUSHPIN_PROFILES[name].justification, PUSHPIN_PROFILES[name].summary]) {
        expect(text.length).toBeGreaterThan(10);
        expect(text).not.toContain('\n');
      }
    }
  });

  it('reads PUSHPIN_PROFILE, refusing a name it does not know', () => {
    expect(pushpinProfileFromEnv({})).toBe(DEFAULT_PUSHPIN_PROFILE);
    expect(pushpinProfileFromEnv({ PUSHPIN_PROFILE: '' })).toBe(DEFAULT_PUSHPIN_PROFILE);
    expect(pushpinProfileFromEnv({ PUSHPIN_PROFILE: 'fanout-node' })).toBe('fanout-node');
    expect(() => pushpinProfileFromEnv({ PUSHPIN_PROFILE: 'Fanout' })).toThrow(PushpinProfileError);
    expect(() => pushpinProfileFromEnv({ PUSHPIN_PROFILE: 'Fanout' })).toThrow('PUSHPIN_PROFILE must be one of fanout, fanout-node, gentle, got "Fanout"');
    expect(() => parsePushpinProfileName('strict', '--pushpin-profile')).toThrow(/^--pushpin-profile must be one of/);
  });
});
