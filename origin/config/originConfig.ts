// The origin's configuration, read from the environment once at start and validated so a bad value
// stops the process with a message naming the variable, not a stack trace at the first request.
import { isIPv4 } from 'node:net';
import type { HistoryConfig } from '../history/historyConfig.ts';
import type { IGripConfig } from '@fanoutio/grip';
import type { JWK } from 'jose';
import type { AccessConfig } from '../access/channelAccess.ts';
import { MIN_SECRET_BYTES } from '../access/subscribeToken.ts';
import { DEFAULT_FLUSHES_IN_FLIGHT } from '../publishing/publishCoalescer.ts';
import { MAX_WS_SUBSCRIPTIONS } from '../websocket/wsSessionState.ts';
import { buildFanoutGripConfig, PUBLIC_KEY_FASTLY_FANOUT_JWK } from '@fanoutio/grip/fastly-fanout';

export const LOCAL_GRIP_URL = 'http://127.0.0.1:5561/?verify-iss=viceroy';
export const LOCAL_GRIP_VERIFY_KEY = 'viceroy_dev_signing_key_dont_use_in_production';
export const DEV_PUBLISH_TOKEN = 'dev-publish-token';
/** Verifies subscribe tokens when SUBSCRIBE_TOKEN_SECRET is not set, on a local origin only (npm run token uses it too). */
export const DEV_SUBSCRIBE_TOKEN_SECRET = 'dev-subscribe-token-secret-not-for-production';
export const DEFAULT_PRIVATE_CHANNEL_PREFIX = 'private-';
/** 64 MiB: the in-memory history's default bound (HISTORY_MAX_BYTES). */
export const DEFAULT_HISTORY_MAX_BYTES = 64 * 1024 * 1024;

/** A key the origin accepts `Grip-Sig` from: HS256 with a shared secret, or ES256 with a public JWK. */
export type SignatureKeySpec =
  | { algorithm: 'HS256'; secret: string; issuer?: string }
  | { algorithm: 'ES256'; publicJwk: JWK; issuer?: string };


export interface PresenceConfig {
  /** Count connections and members (PRESENCE_TRACKING, default true); false: no presence at all, and no keep-alive for it. */
  enabled: boolean;
  /**
   * How often an idle WebSocket with subscriptions calls the origin (Keep-Alive-Interval), which
   * renews its presence leases: a connection that vanished without a word leaves within this plus
   * about 11 s (see websocket/wsPresence.ts).
   */
  keepAliveSeconds: number;
  /** How long a stream's or long-poll's lease lasts unless its client renews it (the client renews each third). */
  leaseSeconds: number;
  /** Leases (connections) one channel may hold: a presence subscribe past it is refused, a plain one goes uncounted. */
  maxConnectionsPerChannel: number;
}

/** Where channel events go (channel_occupied, channel_vacated, member_added, member_removed). */
export interface WebhookConfig {
  urls: string[];
  /** Signs every request (HMAC-SHA256, see webhooks/webhookSignature.ts). */
  secret: string;
  /** Events are collected this long before a request goes. */
  batchMs: number;
}

export interface OriginConfig {
  host: string;
  port: number;
  /** Where published messages go: one or more Pushpin instances, or Fastly Fanout. */
  gripTargets: IGripConfig[];
  /** Keys a Grip-Sig may be signed with; at least one, so nothing unsigned is ever trusted. */
  signatureKeys: SignatureKeySpec[];
  publishToken: string;
  /** True when PUBLISH_TOKEN was not set and the documented dev token is in use. */
  usingDevPublishToken: boolean;
  /**
   * Local use: listening on loopback only and not configured for Fastly. Anything else is reachable by
   * others (with FASTLY_SERVICE_ID, every non-realtime request reaches the origin through the service),
   * so the public dev token is refused and /metrics needs its own token.
   */
  localOnly: boolean;
  history: HistoryConfig;
  redisUrl?: string;
  /**
   * What seals the WebSocket session state kept in proxy meta: WS_STATE_SECRET, or else derived from
   * PUBLISH_TOKEN and SUBSCRIBE_TOKEN_SECRET, which every origin of a deployment shares.
   */
  wsStateSecret: string;
  /** True when Grip-Sig is verified with the public development key (local use, or ALLOW_DEV_GRIP_KEY). */
  usingDevGripKey: boolean;
  /** Whether WebSocket clients may publish with {"type":"publish"}. */
  allowClientPublish: boolean;
  /** Channels one WebSocket connection may subscribe to at once. */
  wsMaxSubscriptions: number;
  /**
   * How often an idle WebSocket holding token subscriptions calls the origin (Keep-Alive-Interval), so
   * an expiry whose close was lost with an origin instance is caught that much later at most.
   */
  wsGrantKeepAliveSeconds: number;
  presence: PresenceConfig;
  /** Undefined: no webhooks (WEBHOOK_URLS not set). */
  webhooks?: WebhookConfig;
  /** How long a long-poll is held before it answers with no messages. */
  longPollTimeoutSeconds: number;
  /**
   * How often the origin closes the private SSE and NDJSON streams whose token expired while the
   * origin instance that would have closed them at `exp` was gone (a restart, a crash): it closes,
   * every this many seconds, those that expired in the period (see access/streamExpiryCloser.ts).
   */
  streamExpirySweepSeconds: number;
  /** Private channels: their prefix and the secret subscribe tokens are verified with. */
  access: AccessConfig;
  /** How the token secret was chosen: set, the local dev secret, or none (private channels refused). */
  subscribeTokenSecretSource: 'env' | 'dev' | 'none';
  /**
   * Bearer token for GET /metrics: METRICS_TOKEN; in local use PUBLISH_TOKEN when it is not set.
   * Undefined: /metrics is disabled (not local, and no METRICS_TOKEN).
   */
  metricsToken: string | undefined;
  /** How long a request may take to arrive whole (headers and body), before it is answered 408. */
  requestTimeoutMs: number;
  /**
   * PUBLISH_REQUESTS_IN_FLIGHT: publish requests to each GRIP target in flight at once, on disjoint
   * channels (publishing/publishCoalescer.ts). Default 1, one at a time (DEFAULT_FLUSHES_IN_FLIGHT says
   * why).
   */
  publishRequestsInFlight: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') throw new ConfigError(name, 'is set but empty; unset it or give it a value');
  return trimmed;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** Parses one GRIP URL the way js-grip does, keeping its verify-iss/verify-key for our own checks. */
function parseGripUrl(raw: string): { target: IGripConfig; verifyIss?: string; verifyKey?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('GRIP_URL', `"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('GRIP_URL', `"${raw}" must be http or https`);
  }
  const verifyIss = url.searchParams.get('verify-iss') ?? undefined;
  const verifyKey = url.searchParams.get('verify-key') ?? undefined;
  const iss = url.searchParams.get('iss') ?? undefined;
  const key = url.searchParams.get('key') ?? undefined;
  for (const param of ['verify-iss', 'verify-key', 'iss', 'key']) url.searchParams.delete(param);
  let controlUri = url.toString();
  if (controlUri.endsWith('/')) controlUri = controlUri.slice(0, -1);
  const target: IGripConfig = { control_uri: controlUri };
  if (iss) target.control_iss = iss;
  if (key) target.key = key.startsWith('base64:') ? Buffer.from(key.slice(7), 'base64') : key;
  if (verifyIss) target.verify_iss = verifyIss;
  return { target, ...(verifyIss ? { verifyIss } : {}), ...(verifyKey ? { verifyKey } : {}) };
}

function readGrip(env: Env): Pick<OriginConfig, 'gripTargets' | 'signatureKeys' | 'usingDevGripKey'> {
  const gripTargets: IGripConfig[] = [];
  const signatureKeys: SignatureKeySpec[] = [];
  const serviceId = nonEmpty(env, 'FASTLY_SERVICE_ID');
  const apiToken = nonEmpty(env, 'FASTLY_API_TOKEN');
  if (serviceId && !apiToken) throw new ConfigError('FASTLY_API_TOKEN', 'is required when FASTLY_SERVICE_ID is set');
  if (apiToken && !serviceId) throw new ConfigError('FASTLY_SERVICE_ID', 'is required when FASTLY_API_TOKEN is set');
  if (serviceId && !/^[A-Za-z0-9]{10,64}$/.test(serviceId)) {
    throw new ConfigError('FASTLY_SERVICE_ID', `"${serviceId}" does not look like a Fastly service ID`);
  }
  if (serviceId && apiToken) {
    gripTargets.push(buildFanoutGripConfig({ serviceId, apiToken }));
    signatureKeys.push({ algorithm: 'ES256', publicJwk: PUBLIC_KEY_FASTLY_FANOUT_JWK as JWK, issuer: `fastly:${serviceId}` });
  }

  const gripUrl = nonEmpty(env, 'GRIP_URL') ?? (serviceId ? undefined : LOCAL_GRIP_URL);
  const verifyKeyEnv = nonEmpty(env, 'GRIP_VERIFY_KEY');
  if (gripUrl) {
    for (const raw of gripUrl.split(/[\s,]+/).filter(Boolean)) {
      const parsed = parseGripUrl(raw);
      gripTargets.push(parsed.target);
      const secret = parsed.verifyKey ?? verifyKeyEnv ?? (gripUrl === LOCAL_GRIP_URL ? LOCAL_GRIP_VERIFY_KEY : undefined);
      if (!secret) {
        throw new ConfigError(
          'GRIP_VERIFY_KEY',
          `no key to verify Grip-Sig for ${parsed.target.control_uri}; set GRIP_VERIFY_KEY (the proxy's sig_key) ` +
            'or add verify-key to the GRIP_URL. Unsigned proxy requests are never trusted.',
        );
      }
      const exists = signatureKeys.some(
        (k) => k.algorithm === 'HS256' && k.secret === secret && k.issuer === parsed.verifyIss,
      );
      if (!exists) {
        signatureKeys.push({ algorithm: 'HS256', secret, ...(parsed.verifyIss ? { issuer: parsed.verifyIss } : {}) });
      }
    }
  } else if (verifyKeyEnv) {
    throw new ConfigError('GRIP_VERIFY_KEY', 'is set but GRIP_URL is not; it would verify nothing');
  }
  const usingDevGripKey = signatureKeys.some((k) => k.algorithm === 'HS256' && k.secret === LOCAL_GRIP_VERIFY_KEY);
  return { gripTargets, signatureKeys, usingDevGripKey };
}

/**
 * The public development Grip-Sig key verifies requests only where nobody else can send them: anyone
 * who reaches an origin that trusts it can sign a request as the proxy (a hold on any channel, a
 * WebSocket session). Beyond loopback it takes ALLOW_DEV_GRIP_KEY=true (a container published on the
 * host's loopback only), and never with a Fastly configuration.
 */
function checkDevGripKey(env: Env, usingDevGripKey: boolean, exposure: string | undefined, fastly: boolean): void {
  if (!usingDevGripKey || !exposure) return;
  if (boolean(env, 'ALLOW_DEV_GRIP_KEY', false) && !fastly) return;
  const optOut = fastly
    ? ' (ALLOW_DEV_GRIP_KEY does not apply to a Fastly configuration)'
    : '; or, on a network only you reach (a container published on the host\'s loopback), set ALLOW_DEV_GRIP_KEY=true';
  throw new ConfigError(
    env.GRIP_URL === undefined ? 'GRIP_URL' : 'GRIP_VERIFY_KEY',
    `Grip-Sig would be verified with the public development key "${LOCAL_GRIP_VERIFY_KEY}", so anyone could sign ` +
      `requests as the proxy: ${exposure}. Set GRIP_URL to your proxy's publish URL and GRIP_VERIFY_KEY to its sig_key ` +
      `(for Fastly: FASTLY_SERVICE_ID and FASTLY_API_TOKEN)${optOut}`,
  );
}

/** WS_STATE_SECRET (at least 32 bytes), or a secret every origin of the deployment derives alike. */
function readWsStateSecret(env: Env, publishToken: string, subscribeSecret: string | undefined): string {
  const explicit = env.WS_STATE_SECRET;
  if (explicit !== undefined) {
    if (Buffer.byteLength(explicit) < MIN_SECRET_BYTES) {
      throw new ConfigError('WS_STATE_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes; for example: openssl rand -base64 48`);
    }
    return explicit;
  }
  return `derived\n${publishToken}\n${subscribeSecret ?? ''}`;
}

function readWebhooks(env: Env, presenceEnabled: boolean): WebhookConfig | undefined {
  const raw = nonEmpty(env, 'WEBHOOK_URLS');
  if (raw === undefined) {
    if (env.WEBHOOK_SECRET !== undefined) throw new ConfigError('WEBHOOK_SECRET', 'is set but WEBHOOK_URLS is not; it would sign nothing');
    return undefined;
  }
  const urls = raw.split(/[\s,]+/).filter(Boolean);
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('WEBHOOK_URLS', `"${url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('WEBHOOK_URLS', `"${url}" must be http or https`);
  }
  if (!presenceEnabled) throw new ConfigError('WEBHOOK_URLS', 'channel events come from presence tracking, which PRESENCE_TRACKING=false turns off');
  const secret = env.WEBHOOK_SECRET;
  if (secret === undefined || Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new ConfigError('WEBHOOK_SECRET', `must be set, at least ${MIN_SECRET_BYTES} bytes, to sign the webhook requests; for example: openssl rand -base64 48`);
  }
  return { urls, secret, batchMs: integer(env, 'WEBHOOK_BATCH_MS', 500, 0, 60_000) };
}

function readHistory(env: Env): HistoryConfig {
  const maxAgeSeconds = integer(env, 'HISTORY_MAX_AGE_SECONDS', 3600, 1, 30 * 24 * 3600);
  const idleSeconds = integer(env, 'HISTORY_CHANNEL_IDLE_SECONDS', Math.max(7 * 24 * 3600, maxAgeSeconds), 60, 365 * 24 * 3600);
  if (idleSeconds < maxAgeSeconds) {
    throw new ConfigError('HISTORY_CHANNEL_IDLE_SECONDS', `must be at least HISTORY_MAX_AGE_SECONDS (${maxAgeSeconds})`);
  }
  return {
    maxMessagesPerChannel: integer(env, 'HISTORY_MAX_MESSAGES', 1000, 1, 1_000_000),
    maxAgeMs: maxAgeSeconds * 1000,
    channelIdleMs: idleSeconds * 1000,
    maxBytes: integer(env, 'HISTORY_MAX_BYTES', DEFAULT_HISTORY_MAX_BYTES, 1024 * 1024, 2 ** 40),
  };
}

function readAccess(env: Env, localOnly: boolean): Pick<OriginConfig, 'access' | 'subscribeTokenSecretSource'> {
  const privatePrefix = nonEmpty(env, 'PRIVATE_CHANNEL_PREFIX') ?? DEFAULT_PRIVATE_CHANNEL_PREFIX;
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(privatePrefix)) {
    throw new ConfigError('PRIVATE_CHANNEL_PREFIX', `must be 1-64 channel-name characters (letters, digits, '_', '-', '.'), got "${privatePrefix}"`);
  }
  const secret = env.SUBSCRIBE_TOKEN_SECRET;
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
      throw new ConfigError(
        'SUBSCRIBE_TOKEN_SECRET',
        `must be at least ${MIN_SECRET_BYTES} bytes (HS256 keys shorter than the hash are weak); for example: openssl rand -base64 48`,
      );
    }
    return { access: { privatePrefix, tokenSecret: secret }, subscribeTokenSecretSource: 'env' };
  }
  return localOnly
    ? { access: { privatePrefix, tokenSecret: DEV_SUBSCRIBE_TOKEN_SECRET }, subscribeTokenSecretSource: 'dev' }
    : { access: { privatePrefix }, subscribeTokenSecretSource: 'none' };
}

/** Loopback addresses: 127.0.0.0/8, ::1 (also bracketed, or IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.replace(/^::ffff:/, '');
  return isIPv4(v4) && v4.startsWith('127.');
}

/** Why the origin is not for local use only, for the messages that refuse an unsafe default. */
function exposureOf(host: string, fastlyServiceId: string | undefined): string | undefined {
  if (fastlyServiceId) {
    return `it is configured for Fastly (FASTLY_SERVICE_ID), so /api/publish is reachable through the Fastly service`;
  }
  if (!isLoopbackHost(host)) return `it listens on ${host} (HOST), beyond loopback`;
  return undefined;
}

/** PUBLISH_TOKEN, refusing the public dev token where others can reach the origin. */
function readPublishToken(env: Env, exposure: string | undefined, fastly: boolean): { token: string; usingDev: boolean } {
  const given = nonEmpty(env, 'PUBLISH_TOKEN');
  if (given !== undefined && given.length < 8) throw new ConfigError('PUBLISH_TOKEN', 'must be at least 8 characters');
  const token = given ?? DEV_PUBLISH_TOKEN;
  const allowDev = boolean(env, 'ALLOW_DEV_PUBLISH_TOKEN', false);
  if (exposure && token === DEV_PUBLISH_TOKEN && !(allowDev && !fastly)) {
    const what = given === undefined ? 'is not set, so the public development token "dev-publish-token" would be used' : 'is the public development token';
    const optOut = fastly
      ? ' (ALLOW_DEV_PUBLISH_TOKEN does not apply to a Fastly configuration)'
      : '; or, on a network only you reach (a container published on the host\'s loopback), set ALLOW_DEV_PUBLISH_TOKEN=true';
    throw new ConfigError(
      'PUBLISH_TOKEN',
      `${what}, and anyone could publish: ${exposure}. Set PUBLISH_TOKEN to a secret of at least 8 characters ` +
        `(e.g. \`openssl rand -hex 24\`)${optOut}`,
    );
  }
  return { token, usingDev: token === DEV_PUBLISH_TOKEN };
}

export function loadOriginConfig(env: Env = process.env): OriginConfig {
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  const grip = readGrip(env);
  const fastly = nonEmpty(env, 'FASTLY_SERVICE_ID') !== undefined;
  const exposure = exposureOf(host, nonEmpty(env, 'FASTLY_SERVICE_ID'));
  const publish = readPublishToken(env, exposure, fastly);
  checkDevGripKey(env, grip.usingDevGripKey, exposure, fastly);
  const redisUrl = nonEmpty(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL', `must start with redis:// or rediss://, got "${redisUrl}"`);
  }
  const metricsToken = nonEmpty(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 8) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 8 characters');
  }
  if (exposure && metricsToken === DEV_PUBLISH_TOKEN) {
    throw new ConfigError('METRICS_TOKEN', `is the public development token, and ${exposure}; set a secret of at least 8 characters`);
  }
  const presenceEnabled = boolean(env, 'PRESENCE_TRACKING', true);
  const webhooks = readWebhooks(env, presenceEnabled);
  const logLevel = nonEmpty(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }
  return {
    host,
    port: integer(env, 'PORT', 3000, 0, 65535),
    ...grip,
    publishToken: publish.token,
    usingDevPublishToken: publish.usingDev,
    localOnly: exposure === undefined,
    history: readHistory(env),
    ...(redisUrl ? { redisUrl } : {}),
    wsStateSecret: readWsStateSecret(env, publish.token, env.SUBSCRIBE_TOKEN_SECRET),
    allowClientPublish: boolean(env, 'ALLOW_CLIENT_PUBLISH', false),
    // Fanout's cap by default; more only for a proxy of one's own with a higher connection_subscription_max.
    wsMaxSubscriptions: integer(env, 'WS_MAX_SUBSCRIPTIONS', 20, 1, MAX_WS_SUBSCRIPTIONS),
    // Pushpin raises anything under 20 s to 20 s.
    wsGrantKeepAliveSeconds: integer(env, 'WS_TOKEN_KEEP_ALIVE_SECONDS', 120, 20, 3600),
    presence: {
      enabled: presenceEnabled,
      // Pushpin raises anything under 20 s to 20 s.
      keepAliveSeconds: integer(env, 'PRESENCE_KEEP_ALIVE_SECONDS', 30, 20, 3600),
      leaseSeconds: integer(env, 'PRESENCE_LEASE_SECONDS', 30, 3, 3600),
      maxConnectionsPerChannel: integer(env, 'PRESENCE_MAX_CONNECTIONS_PER_CHANNEL', 50_000, 1, 10_000_000),
    },
    ...(webhooks ? { webhooks } : {}),
    // Pushpin raises anything under 5 s to 5 s.
    longPollTimeoutSeconds: integer(env, 'LONG_POLL_TIMEOUT_SECONDS', 55, 5, 3600),
    streamExpirySweepSeconds: integer(env, 'STREAM_EXPIRY_SWEEP_SECONDS', 60, 10, 3600),
    ...readAccess(env, exposure === undefined),
    // Outside local use the publish token would be one leaked scrape config away from publishing.
    metricsToken: metricsToken ?? (exposure ? undefined : publish.token),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    publishRequestsInFlight: integer(env, 'PUBLISH_REQUESTS_IN_FLIGHT', DEFAULT_FLUSHES_IN_FLIGHT, 1, 64),
    logLevel,
  };
}
