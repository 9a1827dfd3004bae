// Named sets of the Pushpin settings that decide what reaches a client: how much a connection may
// have buffered, node-wide delivery shaping, the sequencer's wait, the duplicate-id cache, the
// subscription cap. Every config the project generates or adapts (pushpinConfig.ts, the `npm run
// serve` wrapper's pushpinConfigAdapter.ts, the compose file) takes them from one profile here.
// Fanout users cannot change these on Fastly (Fastly's build, fastly/pushpin fastly-build/pushpin.conf:
// see FACTS.md), so `fanout` is what a client of the real service meets; `gentle` is what the local
// stack ran with before, kept for benchmarks that measure throughput rather than Fanout's behaviour.
import { compareVersions, type PushpinVersion } from './pushpinVersion.ts';

export const PUSHPIN_PROFILE_NAMES = ['fanout', 'fanout-node', 'gentle'] as const;
export type PushpinProfileName = (typeof PUSHPIN_PROFILE_NAMES)[number];

/**
 * The profile of every generated and adapted config unless one is chosen (`npm start --
 * --pushpin-profile`, PUSHPIN_PROFILE): Fanout's own, so what passes locally passes on Fanout. Under
 * it a WebSocket burst past 8 KiB is partly dropped by the proxy; the client library (client/)
 * recovers it, and the tests that deliver bursts use it.
 */
export const DEFAULT_PUSHPIN_PROFILE: PushpinProfileName = 'fanout';

/** The environment variable that picks a profile for a test run, a benchmark, the soak and the wrapper. */
export const PUSHPIN_PROFILE_ENV = 'PUSHPIN_PROFILE';

export type ProfileSection = 'runner' | 'handler';

/** A setting a profile decides, as Pushpin reads it. */
export interface ProfileKey {
  section: ProfileSection;
  key: string;
  /** Pushpin's own value when the config does not set it (src/handler/app.cpp, src/runner/app.cpp). */
  pushpinDefault: number;
  /** The oldest Pushpin that reads it; older versions get a config without it. */
  since: PushpinVersion;
  meaning: string;
}

const SINCE_1_35: PushpinVersion = { major: 1, minor: 35, patch: 0 };

/**
 * The keys, checked in Pushpin's source (github fastly/pushpin) for v1.35.0 to v1.41.0 and in Debian
 * 1.36's /etc/pushpin/pushpin.conf: each spelled the same and read from the same section on every
 * version from 1.35 (OLDEST_SUPPORTED_PUSHPIN) on, so no profile setting is left out for a version.
 */
export const PROFILE_KEYS = {
  clientBufferSize: {
    section: 'runner',
    key: 'client_buffer_size',
    pushpinDefault: 8192,
    since: SINCE_1_35,
    meaning: 'bytes buffered per client connection; a published WebSocket message that does not fit is dropped',
  },
  messageRate: {
    section: 'handler',
    key: 'message_rate',
    pushpinDefault: -1,
    since: SINCE_1_35,
    meaning: 'deliveries (one per item and subscriber) the handler makes per second, over all routes; 0 or unset: no limit',
  },
  messageHwm: {
    section: 'handler',
    key: 'message_hwm',
    pushpinDefault: -1,
    since: SINCE_1_35,
    meaning: 'deliveries queued per route past which new ones are dropped (a WARN each); 0 or unset: no limit',
  },
  messageWait: {
    section: 'handler',
    key: 'message_wait',
    pushpinDefault: 5000,
    since: SINCE_1_35,
    meaning: "ms the sequencer holds an item whose prev-id is not the channel's last id before sending it anyway",
  },
  idCacheTtl: {
    section: 'handler',
    key: 'id_cache_ttl',
    pushpinDefault: 0,
    since: SINCE_1_35,
    meaning: 'seconds a (channel, id) is remembered: a second item with the same id on the channel is dropped; 0: off',
  },
  connectionSubscriptionMax: {
    section: 'handler',
    key: 'connection_subscription_max',
    pushpinDefault: 20,
    since: SINCE_1_35,
    meaning: 'channels per hold or WebSocket; a hold keeps the first ones, a WebSocket subscribe past it is ignored',
  },
  subscriptionLinger: {
    section: 'handler',
    key: 'subscription_linger',
    pushpinDefault: 60,
    since: SINCE_1_35,
    meaning: "seconds a channel stays subscribed in the handler (its last id kept) after its last long-poll hold ends",
  },
} as const satisfies Record<string, ProfileKey>;

export type ProfileSettingName = keyof typeof PROFILE_KEYS;
export type ProfileSettings = Readonly<Record<ProfileSettingName, number>>;

export interface PushpinProfile {
  name: PushpinProfileName;
  /** Why this profile exists, one line (written into the generated config). */
  justification: string;
  /** What it sets, in a few words (`npm start`'s banner). */
  summary: string;
  settings: ProfileSettings;
}

/** Fastly's per-connection settings (FACTS.md, "Fastly's own Pushpin build"). */
const FANOUT_PER_CONNECTION = {
  clientBufferSize: 8192,
  messageWait: 5000,
  idCacheTtl: 60,
  connectionSubscriptionMax: 20,
  subscriptionLinger: 60,
} as const;

/**
 * Delivery shaping off: no rate, and no queue limit. Even without a rate the handler queues every
 * delivery of one publish request before it sends any, so a finite hwm would drop part of a publish
 * that fans out wider than it (one request of 50 messages to 5,000 subscribers: 250,000).
 */
const NO_SHAPING = { messageRate: 0, messageHwm: 0 } as const;

/**
 * A burst of published WebSocket messages larger than the client's buffer is partly dropped: with
 * 8 KiB, 613 of a 1000-message batch of 1 KB each arrived; with 256 KiB, all. Buffers are not
 * allocated while idle (condure's RSS with 2000 connections was the same for 8 KiB and 256 KiB).
 */
export const GENTLE_CLIENT_BUFFER_SIZE = 262144;

export const PUSHPIN_PROFILES: Readonly<Record<PushpinProfileName, PushpinProfile>> = {
  fanout: {
    name: 'fanout',
    justification:
      "Fanout's per-connection settings (8 KiB buffers, 60 s id cache, 20 subscriptions); its node-wide shaping left off, since here every client is on one node",
    summary: '8 KiB client buffers, 60 s id cache, 20 subscriptions, no shaping',
    settings: { ...FANOUT_PER_CONNECTION, ...NO_SHAPING },
  },
  'fanout-node': {
    name: 'fanout-node',
    justification: "Fanout's per-connection settings plus its node-wide limits (2500 deliveries/s, 25000 queued), harsher here than on Fanout",
    summary: 'fanout plus 2500 deliveries/s and 25000 queued at most',
    settings: { ...FANOUT_PER_CONNECTION, messageRate: 2500, messageHwm: 25000 },
  },
  gentle: {
    name: 'gentle',
    justification: "for throughput benchmarks, not Fanout's behaviour: 256 KiB buffers so a burst fits, no shaping, no id cache (the local stack's settings before profiles)",
    summary: '256 KiB client buffers, no shaping, no id cache',
    settings: {
      clientBufferSize: GENTLE_CLIENT_BUFFER_SIZE,
      // As before profiles: no rate, and a queue limit no test or benchmark here reached.
      messageRate: 0,
      messageHwm: 200000,
      messageWait: 5000,
      idCacheTtl: 0,
      connectionSubscriptionMax: 20,
      subscriptionLinger: 60,
    },
  },
};

export class PushpinProfileError extends Error {
  override name = 'PushpinProfileError';
}

export function isPushpinProfileName(value: string): value is PushpinProfileName {
  return (PUSHPIN_PROFILE_NAMES as readonly string[]).includes(value);
}

/** `value` as a profile name; `source` names where it came from in the error. */
export function parsePushpinProfileName(value: string, source: string): PushpinProfileName {
  if (isPushpinProfileName(value)) return value;
  throw new PushpinProfileError(`${source} must be one of ${PUSHPIN_PROFILE_NAMES.join(', ')}, got "${value}"`);
}

/** The profile PUSHPIN_PROFILE names, or the default when it is unset or empty. */
export function pushpinProfileFromEnv(env: NodeJS.ProcessEnv = process.env): PushpinProfileName {
  const value = env[PUSHPIN_PROFILE_ENV];
  return value === undefined || value === '' ? DEFAULT_PUSHPIN_PROFILE : parsePushpinProfileName(value, PUSHPIN_PROFILE_ENV);
}

export interface ProfileLine {
  name: ProfileSettingName;
  section: ProfileSection;
  key: string;
  value: number;
}

/** The profile's settings that `version` reads, in PROFILE_KEYS order. */
export function profileLines(profile: PushpinProfileName, version: PushpinVersion): ProfileLine[] {
  const { settings } = PUSHPIN_PROFILES[profile];
  return (Object.keys(PROFILE_KEYS) as ProfileSettingName[])
    .filter((name) => compareVersions(version, PROFILE_KEYS[name].since) >= 0)
    .map((name) => ({ name, section: PROFILE_KEYS[name].section, key: PROFILE_KEYS[name].key, value: settings[name] }));
}
