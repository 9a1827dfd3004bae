import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_HISTORY_MAX_BYTES, DEV_PUBLISH_TOKEN, DEV_SUBSCRIBE_TOKEN_SECRET, isLoopbackHost, LOCAL_GRIP_VERIFY_KEY, loadOriginConfig } from './originConfig.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadOriginConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A proxy of one's own: its publish URL and sig_key (not the public development key). */
const GRIP = { GRIP_URL: 'http://pushpin.internal:5561/?verify-iss=pushpin', GRIP_VERIFY_KEY: 'a-grip-key-of-our-own-0123456789abcdef' };

describe('origin configuration', () => {
  it('defaults to the local harness', () => {
    const config = loadOriginConfig({});
    expect(config.port).toBe(3000);
    expect(config.gripTargets).toEqual([{ control_uri: 'http://127.0.0.1:5561', verify_iss: 'viceroy' }]);
    expect(config.signatureKeys).toEqual([{ algorithm: 'HS256', secret: LOCAL_GRIP_VERIFY_KEY, issuer: 'viceroy' }]);
    expect(config.publishToken).toBe(DEV_PUBLISH_TOKEN);
    expect(config.usingDevPublishToken).toBe(true);
    expect(config).toMatchObject({ allowClientPublish: false, wsMaxSubscriptions: 20, longPollTimeoutSeconds: 55 });
    expect(config.metricsToken).toBe(DEV_PUBLISH_TOKEN);
  });

  it('sweeps the expired private streams every 60 s by default, 10-3600 s', () => {
    expect(loadOriginConfig({}).streamExpirySweepSeconds).toBe(60);
    expect(loadOriginConfig({ STREAM_EXPIRY_SWEEP_SECONDS: '15' }).streamExpirySweepSeconds).toBe(15);
    expect(() => loadOriginConfig({ STREAM_EXPIRY_SWEEP_SECONDS: '5' })).toThrow('STREAM_EXPIRY_SWEEP_SECONDS');
  });

  it('tracks presence by default (keep-alive 30 s, leases 30 s), without webhooks unless WEBHOOK_URLS names some', () => {
    const config = loadOriginConfig({});
    expect(config.presence).toEqual({ enabled: true, keepAliveSeconds: 30, leaseSeconds: 30, maxConnectionsPerChannel: 50_000 });
    expect(config.webhooks).toBeUndefined();
    const secret = 'a-webhook-secret-of-at-least-32-bytes!!';
    expect(loadOriginConfig({ WEBHOOK_URLS: 'https://a.example/hook, http://b.example/x?key=1', WEBHOOK_SECRET: secret }).webhooks).toEqual({
      urls: ['https://a.example/hook', 'http://b.example/x?key=1'],
      secret,
      batchMs: 500,
    });
  });

  it('bounds the in-memory history at 64 MiB and requests at 30 s by default', () => {
    const config = loadOriginConfig({});
    expect(config.history.maxBytes).toBe(DEFAULT_HISTORY_MAX_BYTES);
    expect(DEFAULT_HISTORY_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect(loadOriginConfig({ HISTORY_MAX_BYTES: '2097152' }).history.maxBytes).toBe(2097152);
    expect(config.requestTimeoutMs).toBe(30_000);
    expect(loadOriginConfig({ REQUEST_TIMEOUT_SECONDS: '5' }).requestTimeoutMs).toBe(5000);
  });

  it('keeps 1 publish request in flight by default; PUBLISH_REQUESTS_IN_FLIGHT sets 1 to 64', () => {
    expect(loadOriginConfig({}).publishRequestsInFlight).toBe(1);
    expect(loadOriginConfig({ PUBLISH_REQUESTS_IN_FLIGHT: '4' }).publishRequestsInFlight).toBe(4);
    expect(loadOriginConfig({ PUBLISH_REQUESTS_IN_FLIGHT: '1' }).publishRequestsInFlight).toBe(1);
    expect(loadOriginConfig({ PUBLISH_REQUESTS_IN_FLIGHT: '64' }).publishRequestsInFlight).toBe(64);
  });

  it.each(['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])('counts %s as loopback (local use)', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    expect(loadOriginConfig({ ...GRIP, HOST: host })).toMatchObject({ localOnly: true, publishToken: DEV_PUBLISH_TOKEN });
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', 'example.com', '10.0.0.1', '::ffff:10.0.0.1'])('refuses the dev publish token on %s, naming PUBLISH_TOKEN', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
    for (const env of [{ ...GRIP, HOST: host }, { ...GRIP, HOST: host, PUBLISH_TOKEN: DEV_PUBLISH_TOKEN }] as Array<Record<string, string>>) {
      const error = errorOf(env);
      expect(error.variable).toBe('PUBLISH_TOKEN');
      expect(error.message).toContain(`listens on ${host} (HOST), beyond loopback`);
      expect(error.message).toMatch(/ALLOW_DEV_PUBLISH_TOKEN=true/);
    }
    expect(loadOriginConfig({ ...GRIP, HOST: host, PUBLISH_TOKEN: 'a-real-secret' })).toMatchObject({ localOnly: false, usingDevPublishToken: false });
  });

  it('accepts the dev publish token beyond loopback only with ALLOW_DEV_PUBLISH_TOKEN=true (a container on the host loopback)', () => {
    expect(loadOriginConfig({ ...GRIP, HOST: '0.0.0.0', ALLOW_DEV_PUBLISH_TOKEN: 'true' })).toMatchObject({ publishToken: DEV_PUBLISH_TOKEN, usingDevPublishToken: true, localOnly: false });
    expect(errorOf({ ...GRIP, HOST: '0.0.0.0', ALLOW_DEV_PUBLISH_TOKEN: 'false' }).variable).toBe('PUBLISH_TOKEN');
    expect(errorOf({ ...GRIP, HOST: '0.0.0.0', ALLOW_DEV_PUBLISH_TOKEN: 'perhaps' }).variable).toBe('ALLOW_DEV_PUBLISH_TOKEN');
  });

  it('refuses the dev publish token when configured for Fastly, even with ALLOW_DEV_PUBLISH_TOKEN', () => {
    const fastly = { FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'tok' };
    for (const env of [fastly, { ...fastly, ALLOW_DEV_PUBLISH_TOKEN: 'true' }, { ...fastly, PUBLISH_TOKEN: DEV_PUBLISH_TOKEN }]) {
      const error = errorOf(env);
      expect(error.variable).toBe('PUBLISH_TOKEN');
      expect(error.message).toMatch(/configured for Fastly \(FASTLY_SERVICE_ID\)/);
    }
    expect(loadOriginConfig({ ...fastly, PUBLISH_TOKEN: 'a-real-secret' })).toMatchObject({ localOnly: false, metricsToken: undefined });
  });

  it('serves metrics outside local use only with their own METRICS_TOKEN (no fallback to PUBLISH_TOKEN)', () => {
    const exposed = { ...GRIP, HOST: '0.0.0.0', PUBLISH_TOKEN: 'publish-secret' };
    expect(loadOriginConfig(exposed).metricsToken).toBeUndefined();
    expect(loadOriginConfig({ ...exposed, METRICS_TOKEN: 'metrics-secret' }).metricsToken).toBe('metrics-secret');
    expect(loadOriginConfig({ ...GRIP, HOST: '0.0.0.0', ALLOW_DEV_PUBLISH_TOKEN: 'true' }).metricsToken).toBeUndefined();
    expect(errorOf({ ...exposed, METRICS_TOKEN: DEV_PUBLISH_TOKEN }).variable).toBe('METRICS_TOKEN');
  });

  it('guards metrics with PUBLISH_TOKEN unless METRICS_TOKEN is set (local use)', () => {
    expect(loadOriginConfig({ PUBLISH_TOKEN: 'publish-secret' }).metricsToken).toBe('publish-secret');
    expect(loadOriginConfig({ PUBLISH_TOKEN: 'publish-secret', METRICS_TOKEN: 'metrics-secret' }).metricsToken).toBe(
      'metrics-secret',
    );
  });

  it('accepts several GRIP targets', () => {
    const config = loadOriginConfig({
      GRIP_URL: 'http://127.0.0.1:5561/?verify-iss=viceroy, http://127.0.0.1:6561/?verify-iss=viceroy',
      GRIP_VERIFY_KEY: 'k',
    });
    expect(config.gripTargets.map((t) => t.control_uri)).toEqual(['http://127.0.0.1:5561', 'http://127.0.0.1:6561']);
    expect(config.signatureKeys).toHaveLength(1);
  });

  it('builds the Fastly target and its ES256 key', () => {
    const config = loadOriginConfig({ FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'tok', PUBLISH_TOKEN: 'a-real-secret' });
    expect(config.gripTargets).toHaveLength(1);
    expect(config.gripTargets[0]!.control_uri).toContain('/service/SU1Z0isxPaozGVKXdv0eY');
    expect(config.signatureKeys).toMatchObject([{ algorithm: 'ES256', issuer: 'fastly:SU1Z0isxPaozGVKXdv0eY' }]);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', /whole number/],
    [{ PORT: '70000' }, 'PORT', /between/],
    [{ GRIP_URL: 'not a url' }, 'GRIP_URL', /not a URL/],
    [{ GRIP_URL: 'ftp://x/' }, 'GRIP_URL', /http or https/],
    [{ GRIP_URL: 'http://127.0.0.1:5561/' }, 'GRIP_VERIFY_KEY', /never trusted/],
    [{ FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY' }, 'FASTLY_API_TOKEN', /required/],
    [{ FASTLY_API_TOKEN: 'x' }, 'FASTLY_SERVICE_ID', /required/],
    [{ PUBLISH_TOKEN: 'short' }, 'PUBLISH_TOKEN', /at least 8/],
    [{ PUBLISH_TOKEN: '  ' }, 'PUBLISH_TOKEN', /empty/],
    [{ HISTORY_MAX_MESSAGES: '0' }, 'HISTORY_MAX_MESSAGES', /between/],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL', /redis:\/\//],
    [{ ALLOW_CLIENT_PUBLISH: 'maybe' }, 'ALLOW_CLIENT_PUBLISH', /true or false/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of/],
    [{ WS_MAX_SUBSCRIPTIONS: '0' }, 'WS_MAX_SUBSCRIPTIONS', /between/],
    [{ LONG_POLL_TIMEOUT_SECONDS: '2' }, 'LONG_POLL_TIMEOUT_SECONDS', /between 5/],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN', /at least 8/],
    [{ SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(31) }, 'SUBSCRIBE_TOKEN_SECRET', /at least 32 bytes/],
    [{ SUBSCRIBE_TOKEN_SECRET: '' }, 'SUBSCRIBE_TOKEN_SECRET', /at least 32 bytes/],
    [{ WS_TOKEN_KEEP_ALIVE_SECONDS: '10' }, 'WS_TOKEN_KEEP_ALIVE_SECONDS', /between 20/],
    [{ PRIVATE_CHANNEL_PREFIX: 'has space' }, 'PRIVATE_CHANNEL_PREFIX', /channel-name characters/],
    [{ PRIVATE_CHANNEL_PREFIX: 'a:b' }, 'PRIVATE_CHANNEL_PREFIX', /channel-name characters/],
    [{ HISTORY_MAX_BYTES: '1000' }, 'HISTORY_MAX_BYTES', /between 1048576/],
    [{ HISTORY_MAX_BYTES: '64MB' }, 'HISTORY_MAX_BYTES', /whole number/],
    [{ REQUEST_TIMEOUT_SECONDS: '0' }, 'REQUEST_TIMEOUT_SECONDS', /between 1/],
    [{ PUBLISH_REQUESTS_IN_FLIGHT: '0' }, 'PUBLISH_REQUESTS_IN_FLIGHT', /between 1 and 64/],
    [{ PUBLISH_REQUESTS_IN_FLIGHT: '65' }, 'PUBLISH_REQUESTS_IN_FLIGHT', /between 1 and 64/],
    [{ PUBLISH_REQUESTS_IN_FLIGHT: 'many' }, 'PUBLISH_REQUESTS_IN_FLIGHT', /whole number/],
    [{ PRESENCE_KEEP_ALIVE_SECONDS: '10' }, 'PRESENCE_KEEP_ALIVE_SECONDS', /between 20/],
    [{ PRESENCE_TRACKING: 'sometimes' }, 'PRESENCE_TRACKING', /true or false/],
    [{ WEBHOOK_URLS: 'ftp://x/' }, 'WEBHOOK_URLS', /http or https/],
    [{ WEBHOOK_URLS: 'https://hooks.example/a' }, 'WEBHOOK_SECRET', /at least 32 bytes/],
    [{ WEBHOOK_URLS: 'https://hooks.example/a', WEBHOOK_SECRET: 'x'.repeat(32), PRESENCE_TRACKING: 'false' }, 'WEBHOOK_URLS', /PRESENCE_TRACKING=false/],
    [{ WEBHOOK_SECRET: 'x'.repeat(32) }, 'WEBHOOK_SECRET', /WEBHOOK_URLS is not/],
  ])('rejects %j naming %s', (env, variable, message) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${variable}:`)).toBe(true);
  });

  it('private channels: the secret as given, the dev secret only on a local origin, else none (refused)', () => {
    const secret = 's'.repeat(32);
    expect(loadOriginConfig({ SUBSCRIBE_TOKEN_SECRET: secret })).toMatchObject({
      access: { privatePrefix: 'private-', tokenSecret: secret },
      subscribeTokenSecretSource: 'env',
    });
    // 32 bytes, not 32 characters: 16 two-byte characters are enough.
    expect(loadOriginConfig({ SUBSCRIBE_TOKEN_SECRET: 'é'.repeat(16) }).subscribeTokenSecretSource).toBe('env');
    expect(loadOriginConfig({})).toMatchObject({ access: { tokenSecret: DEV_SUBSCRIBE_TOKEN_SECRET }, subscribeTokenSecretSource: 'dev' });
    const exposed = { ...GRIP, HOST: '0.0.0.0', PUBLISH_TOKEN: 'a-real-publish-secret' };
    expect(loadOriginConfig(exposed)).toMatchObject({ access: { privatePrefix: 'private-' }, subscribeTokenSecretSource: 'none' });
    expect(loadOriginConfig(exposed).access.tokenSecret).toBeUndefined();
    const fastly = { FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'tok', PUBLISH_TOKEN: 'a-real-publish-secret' };
    expect(loadOriginConfig(fastly).subscribeTokenSecretSource).toBe('none');
    expect(loadOriginConfig({ PRIVATE_CHANNEL_PREFIX: 'secret.' }).access.privatePrefix).toBe('secret.');
  });

  it('refuses to verify Grip-Sig with the public dev key beyond loopback or with Fastly, naming GRIP_URL or GRIP_VERIFY_KEY', () => {
    const strong = { PUBLISH_TOKEN: 'a-strong-publish-secret', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(40) };
    // No GRIP settings at all: the local default would verify with the dev key.
    const noGrip = errorOf({ ...strong, HOST: '0.0.0.0' });
    expect(noGrip.variable).toBe('GRIP_URL');
    expect(noGrip.message).toMatch(/public development key/);
    expect(noGrip.message).toMatch(/ALLOW_DEV_GRIP_KEY=true/);
    // The dev key given explicitly, in GRIP_VERIFY_KEY or in the URL.
    const localUrl = 'http://127.0.0.1:5561/?verify-iss=viceroy';
    expect(errorOf({ ...strong, HOST: '0.0.0.0', GRIP_URL: localUrl, GRIP_VERIFY_KEY: LOCAL_GRIP_VERIFY_KEY }).variable).toBe('GRIP_VERIFY_KEY');
    expect(errorOf({ ...strong, HOST: '0.0.0.0', GRIP_URL: `${localUrl}&verify-key=${LOCAL_GRIP_VERIFY_KEY}` }).variable).toBe('GRIP_VERIFY_KEY');
    // Fastly beside a local proxy with the dev key: refused, and the opt-in does not apply.
    const fastly = { ...strong, FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'tok', GRIP_URL: localUrl, GRIP_VERIFY_KEY: LOCAL_GRIP_VERIFY_KEY };
    expect(errorOf(fastly).variable).toBe('GRIP_VERIFY_KEY');
    expect(errorOf({ ...fastly, ALLOW_DEV_GRIP_KEY: 'true' }).message).toMatch(/does not apply to a Fastly configuration/);
    // A container published on the host's loopback only may opt in.
    expect(loadOriginConfig({ ...strong, HOST: '0.0.0.0', ALLOW_DEV_GRIP_KEY: 'true' })).toMatchObject({ usingDevGripKey: true, localOnly: false });
    // Locally the dev key is the default, and fine.
    expect(loadOriginConfig({})).toMatchObject({ usingDevGripKey: true, localOnly: true });
    expect(loadOriginConfig({ ...strong, ...GRIP, HOST: '0.0.0.0' }).usingDevGripKey).toBe(false);
  });

  it('seals WebSocket session state with WS_STATE_SECRET, or a secret every origin of the deployment derives alike', () => {
    expect(loadOriginConfig({ WS_STATE_SECRET: 'y'.repeat(32) }).wsStateSecret).toBe('y'.repeat(32));
    expect(errorOf({ WS_STATE_SECRET: 'short' }).variable).toBe('WS_STATE_SECRET');
    const a = loadOriginConfig({ PUBLISH_TOKEN: 'shared-publish-secret', SUBSCRIBE_TOKEN_SECRET: 'z'.repeat(40) });
    const b = loadOriginConfig({ PUBLISH_TOKEN: 'shared-publish-secret', SUBSCRIBE_TOKEN_SECRET: 'z'.repeat(40), PORT: '3001' });
    expect(a.wsStateSecret).toBe(b.wsStateSecret);
    expect(loadOriginConfig({ PUBLISH_TOKEN: 'another-publish-secret' }).wsStateSecret).not.toBe(a.wsStateSecret);
  });
});
