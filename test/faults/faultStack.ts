// A stack whose parts can be broken one at a time: Redis, Pushpin (generated config, free ports) and
// an origin routed by Pushpin, plus optionally a second origin on the same Redis for publishing while
// the first is down. Each part restarts on its own ports, where clients and the others expect it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendantsOf, isAlive } from '../../scripts/stack/managedProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/stack/ports.ts';
import { startPushpin, type RunningPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { startExtraOrigin, type ExtraOrigin } from '../harness/originProcess.ts';
import { startRedisServer, type RunningRedis } from '../harness/redisServer.ts';
import { TEST_PUBLISH_TOKEN } from '../harness/testStack.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';
import type { PushpinProfileName } from '../../scripts/pushpin/pushpinProfiles.ts';

export interface FaultStack {
  logDir: string;
  proxyUrl: string;
  /** The origin Pushpin routes to. */
  origin(): ExtraOrigin;
  /** Another origin on the same Redis, not behind Pushpin (publishes only), when asked for. */
  spareOrigin(): ExtraOrigin | undefined;
  redis(): RunningRedis;
  pushpin(): RunningPushpin | undefined;
  publish(originUrl: string, body: unknown): Promise<Response>;
  /** SIGTERM to the routed origin; resolves when it has exited (`whileStopping` runs meanwhile). */
  stopOrigin(whileStopping?: () => Promise<void>): Promise<void>;
  /** A new routed origin on the same port. */
  startOrigin(): Promise<void>;
  stopPushpin(): Promise<void>;
  startPushpin(): Promise<void>;
  /** SIGTERM (`crash`: SIGKILL, as a crash would leave it). */
  stopRedis(crash?: boolean): Promise<void>;
  startRedis(): Promise<void>;
  /** The pid of one of Pushpin's services (condure, pushpin-handler, pushpin-proxy, zurl). */
  pushpinServicePid(service: string): number;
  stop(): Promise<void>;
}

export interface FaultStackOptions {
  originEnv?: Record<string, string>;
  spareOrigin?: boolean;
  /** Redis persists every write before acknowledging it (appendfsync always), so a restart loses nothing. */
  durableRedis?: boolean;
  /** Pushpin's delivery settings; default the run's (TEST_PUSHPIN_PROFILE). */
  pushpinProfile?: PushpinProfileName;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const logDir = mkdtempSync(join(tmpdir(), 'fault-stack-'));
  const ports = { origin: await findFreePort(), proxy: await findFreePort(), publish: await findFreePortRange(4) };
  const publishUrl = `http://127.0.0.1:${ports.publish}`;
  const redisDataDir = options.durableRedis ? mkdtempSync(join(tmpdir(), 'fault-redis-')) : undefined;
  const redisOptions = redisDataDir ? { dataDir: redisDataDir, durable: true } : {};
  let redis = await startRedisServer(redisOptions);
  const originEnv = (): Record<string, string> => ({
    PUBLISH_TOKEN: TEST_PUBLISH_TOKEN,
    REDIS_URL: redis.url,
    LONG_POLL_TIMEOUT_SECONDS: '20',
    HISTORY_MAX_MESSAGES: '100000',
    ...options.originEnv,
  });
  const launchPushpin = () =>
    startPushpin({
      backends: [{ name: 'origin', url: new URL(`http://127.0.0.1:${ports.origin}`), overrideHost: `127.0.0.1:${ports.origin}` }],
      proxyPort: ports.proxy,
      publishPort: ports.publish,
      profile: options.pushpinProfile ?? TEST_PUSHPIN_PROFILE,
      logDir,
      echo: false,
      log: () => {},
    });
  let pushpin: RunningPushpin | undefined;
  let origin: ExtraOrigin | undefined;
  let spare: ExtraOrigin | undefined;
  let restarts = 0;
  const stopAll = async (): Promise<void> => {
    await Promise.all([origin?.stop(), spare?.stop(), pushpin?.stop()]);
    await redis.stop();
    if (redisDataDir) rmSync(redisDataDir, { recursive: true, force: true });
  };
  try {
    pushpin = await launchPushpin();
    origin = await startExtraOrigin({ name: 'origin', pushpinPublishUrl: publishUrl, logDir, port: ports.origin, env: originEnv() });
    if (options.spareOrigin) spare = await startExtraOrigin({ name: 'spare-origin', pushpinPublishUrl: publishUrl, logDir, env: originEnv() });
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    logDir,
    proxyUrl: `http://127.0.0.1:${ports.proxy}`,
    origin: () => origin!,
    spareOrigin: () => spare,
    redis: () => redis,
    pushpin: () => pushpin,
    publish: (originUrl, body) =>
      fetch(`${originUrl}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_PUBLISH_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    async stopOrigin(whileStopping) {
      const old = origin!;
      process.kill(old.process.pid, 'SIGTERM');
      await whileStopping?.();
      for (let waited = 0; isAlive(old.process.pid) && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      await old.stop();
    },
    async startOrigin() {
      origin = await startExtraOrigin({ name: `origin-${++restarts}`, pushpinPublishUrl: publishUrl, logDir, port: ports.origin, env: originEnv() });
    },
    async stopPushpin() {
      await pushpin?.stop();
      pushpin = undefined;
    },
    async startPushpin() {
      pushpin = await launchPushpin();
    },
    async stopRedis(crash) {
      if (crash) await redis.kill();
      else await redis.stop();
    },
    async startRedis() {
      redis = await startRedisServer({ ...redisOptions, port: redis.port });
    },
    pushpinServicePid(service) {
      if (!pushpin) throw new Error('Pushpin is not running');
      const pid = descendantsOf(pushpin.process.pid).find((p) => commandOf(p).split(' ')[0]!.endsWith(`/${service}`) || commandOf(p).startsWith(`${service} `));
      if (pid === undefined) throw new Error(`no Pushpin service ${service} under ${pushpin.process.pid}`);
      return pid;
    },
    stop: stopAll,
  };
}
