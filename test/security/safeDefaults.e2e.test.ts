// Safe defaults, with the real origin process: it refuses to start with the public dev publish token
// where others can reach it (naming PUBLISH_TOKEN), /metrics needs its own token outside local use,
// and /readyz reports the history (real Redis) and the publish target (real Pushpin), 503 with
// details while either is down and 200 again once it is back.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushpin, type RunningPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { startExtraOrigin, type ExtraOrigin } from '../harness/originProcess.ts';
import { startRedisServer, type RunningRedis } from '../../scripts/shared/redisServer.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

const logDir = mkdtempSync(join(tmpdir(), 'safe-defaults-'));

/** Runs origin/server.ts until it exits by itself (it must: these configurations are refused). */
async function originRefusing(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'origin/server.ts')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, PORT: String(await findFreePort()), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { code, stderr, ms: Date.now() - started };
  } finally {
    clearTimeout(killer);
  }
}

describe('the origin refuses the dev publish token where others can reach it', () => {
  it.each([
    ['bound to 0.0.0.0', { HOST: '0.0.0.0' }, /listens on 0\.0\.0\.0 \(HOST\), beyond loopback/],
    ['bound to 0.0.0.0 with the dev token given explicitly', { HOST: '0.0.0.0', PUBLISH_TOKEN: 'dev-publish-token' }, /is the public development token/],
    ['bound to ::', { HOST: '::' }, /listens on :: \(HOST\)/],
    [
      'configured for Fastly',
      { FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'fastly-test-token', ALLOW_DEV_PUBLISH_TOKEN: 'true' },
      /configured for Fastly \(FASTLY_SERVICE_ID\)/,
    ],
  ])('%s: exits 2 naming PUBLISH_TOKEN', async (_case, env, reason) => {
    const run = await originRefusing(env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^origin: invalid configuration: PUBLISH_TOKEN: /m);
    expect(run.stderr).toMatch(reason);
    expect(run.stderr).toMatch(/Set PUBLISH_TOKEN to a secret/);
  });
});

describe('the origin refuses the dev Grip-Sig key where others can reach it', () => {
  it('bound to 0.0.0.0 with a strong PUBLISH_TOKEN and SUBSCRIBE_TOKEN_SECRET and no GRIP settings: exits 2 naming GRIP_URL', async () => {
    const run = await originRefusing({ HOST: '0.0.0.0', PUBLISH_TOKEN: 'a-strong-publish-secret', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(40) });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^origin: invalid configuration: GRIP_URL: Grip-Sig would be verified with the public development key/m);
    expect(run.stderr).toMatch(/ALLOW_DEV_GRIP_KEY=true/);
  });
});

describe('beyond loopback, with a publish token', () => {
  let origin: ExtraOrigin;
  let withMetrics: ExtraOrigin;
  let pushpinPublish: string;
  let pushpin: RunningPushpin;
  beforeAll(async () => {
    pushpin = await startPushpin({
      backends: [],
      proxyPort: await findFreePort(),
      publishPort: await findFreePortRange(4),
      profile: TEST_PUSHPIN_PROFILE,
      logDir,
      echo: false,
      log: () => {},
    });
    pushpinPublish = pushpin.publishUrl;
    origin = await startExtraOrigin({ name: 'exposed-origin', pushpinPublishUrl: pushpinPublish, logDir, env: { HOST: '0.0.0.0', PUBLISH_TOKEN: 'exposed-publish-secret', ALLOW_DEV_GRIP_KEY: 'true' } });
    withMetrics = await startExtraOrigin({
      name: 'exposed-origin-metrics',
      pushpinPublishUrl: pushpinPublish,
      logDir,
      env: { HOST: '0.0.0.0', PUBLISH_TOKEN: 'exposed-publish-secret', METRICS_TOKEN: 'exposed-metrics-secret', ALLOW_DEV_GRIP_KEY: 'true' },
    });
  });
  afterAll(async () => {
    await origin?.stop();
    await withMetrics?.stop();
    await pushpin?.stop();
  });

  it('starts, and disables /metrics without METRICS_TOKEN instead of taking the publish token', async () => {
    const response = await fetch(`${origin.url}/metrics`, { headers: { Authorization: 'Bearer exposed-publish-secret' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'metrics_disabled', message: expect.stringMatching(/set METRICS_TOKEN/) });
  });

  it('serves /metrics with METRICS_TOKEN only', async () => {
    const publishToken = await fetch(`${withMetrics.url}/metrics`, { headers: { Authorization: 'Bearer exposed-publish-secret' } });
    expect(publishToken.status).toBe(401);
    const metricsToken = await fetch(`${withMetrics.url}/metrics`, { headers: { Authorization: 'Bearer exposed-metrics-secret' } });
    expect(metricsToken.status).toBe(200);
    expect(await metricsToken.text()).toMatch(/^# TYPE origin_messages_published_total counter/m);
  });

  it('keeps the internal addresses out of /readyz', async () => {
    const response = await fetch(`${origin.url}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { checks: Array<Record<string, unknown>> };
    for (const check of body.checks) expect(check).not.toHaveProperty('target');
  });
});

describe('/readyz with real Redis and a real Pushpin', () => {
  let redis: RunningRedis;
  let pushpin: RunningPushpin;
  let origin: ExtraOrigin;
  let proxyPort: number;
  let publishPort: number;
  const startOwnPushpin = () => startPushpin({ backends: [], proxyPort, publishPort, profile: TEST_PUSHPIN_PROFILE, logDir, echo: false, log: () => {} });

  beforeAll(async () => {
    redis = await startRedisServer();
    proxyPort = await findFreePort();
    publishPort = await findFreePortRange(4);
    pushpin = await startOwnPushpin();
    origin = await startExtraOrigin({ name: 'ready-origin', pushpinPublishUrl: pushpin.publishUrl, logDir, env: { REDIS_URL: redis.url, PUBLISH_TOKEN: 'ready-publish-secret' } });
  });
  afterAll(async () => {
    await origin?.stop();
    await pushpin?.stop();
    await redis?.stop();
  });

  interface Readyz {
    status: string;
    checks: Array<{ name: string; ok: boolean; target?: string; error?: string; ms: number }>;
  }
  const readyz = async (): Promise<{ status: number; body: Readyz; cache: string | null }> => {
    const response = await fetch(`${origin.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Readyz, cache: response.headers.get('cache-control') };
  };
  /** Waits past the one second a report is reused. */
  const until = async (wanted: number): Promise<{ status: number; body: Readyz }> => {
    let last = await readyz();
    for (const deadline = Date.now() + 20_000; last.status !== wanted && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250));
      last = await readyz();
    }
    return last;
  };
  const check = (body: Readyz, name: string) => body.checks.find((c) => c.name === name)!;

  it('is ready with both up, naming what it checked', async () => {
    const { status, body, cache } = await readyz();
    expect(status).toBe(200);
    expect(cache).toBe('no-store');
    expect(body.status).toBe('ready');
    expect(check(body, 'history')).toMatchObject({ ok: true, target: `127.0.0.1:${redis.port}` });
    expect(check(body, 'publish_target')).toMatchObject({ ok: true, target: `127.0.0.1:${publishPort}` });
    // Liveness stays what it was.
    expect((await fetch(`${origin.url}/healthz`)).status).toBe(200);
  });

  it('answers 503 naming the history while Redis is stopped, and 200 once it is back', async () => {
    await redis.stop();
    const down = await until(503);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(check(down.body, 'history')).toMatchObject({ ok: false, error: expect.any(String) });
    expect(check(down.body, 'history').ms).toBeLessThan(5000);
    expect(check(down.body, 'publish_target').ok).toBe(true);
    expect((await fetch(`${origin.url}/healthz`)).status).toBe(200);
    redis = await startRedisServer({ port: redis.port });
    expect((await until(200)).status).toBe(200);
  });

  it('answers 503 naming the publish target while Pushpin is stopped, and 200 once it is back', async () => {
    await pushpin.stop();
    const down = await until(503);
    expect(down.status).toBe(503);
    expect(check(down.body, 'publish_target')).toMatchObject({ ok: false, target: `127.0.0.1:${publishPort}`, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(check(down.body, 'history').ok).toBe(true);
    pushpin = await startOwnPushpin();
    expect((await until(200)).status).toBe(200);
  });
});
