// docker-compose.yml, checked as a file (no Docker engine here): Debian's docker-compose validates it,
// and what it resolves to must agree with fastly.toml and with the Pushpin generator of the local
// harness: ports, signing key, the route to the origin service, the committed Pushpin config files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildComposePushpinFiles,
  COMPOSE_CONFIG_DIR,
  COMPOSE_ORIGIN_SERVICE,
  COMPOSE_PUSHPIN_IMAGE,
  composeConfigFiles,
} from '../../scripts/pushpin/composeConfig.ts';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY, pushpinRunnerLayout } from '../../scripts/pushpin/pushpinConfig.ts';
import { parsePushpinVersion } from '../../scripts/pushpin/pushpinVersion.ts';
import { readPushpinSetting } from '../../scripts/pushpin/pushpinConfigAdapter.ts';
import { ensureCommand } from '../../scripts/shared/aptPackages.ts';
import { loadOriginConfig } from '../../origin/config/originConfig.ts';
import { readManifest } from '../../scripts/shared/fastlyManifest.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

interface ComposeService {
  image: string;
  command?: string;
  environment?: Record<string, string | null>;
  /** docker-compose 1.29 prints `127.0.0.1:3000:3000/tcp` for a port with a host address, an object otherwise. */
  ports?: Array<string | { published: number | string; target: number; host_ip?: string }>;
  volumes?: string[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

/** `docker-compose config`, resolved, as JSON (its YAML read with the PyYAML that docker-compose ships with). */
function composeConfig(args: string[] = [], env: Record<string, string> = {}): Compose {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  // Only what the test passes: not the shell's.
  delete environment.PUBLISH_TOKEN;
  delete environment.REDIS_URL;
  Object.assign(environment, env);
  const yaml = execFileSync('docker-compose', [...args, 'config'], { cwd: PROJECT_ROOT, env: environment, encoding: 'utf8' });
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json) as Compose;
}

interface PublishedPort {
  host: string | undefined;
  published: number;
  target: number;
}

function portsOf(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') return { host: port.host_ip, published: Number(port.published), target: port.target };
    const match = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/tcp)?$/.exec(port);
    if (!match) throw new Error(`unexpected port entry ${port}`);
    return { host: match[1], published: Number(match[2]), target: Number(match[3]) };
  });
}

const manifest = readManifest(join(PROJECT_ROOT, 'fastly.toml'));
const origin = manifest.backends.find((b) => b.name === 'origin')!;
let compose: Compose;

beforeAll(() => {
  ensureCommand('docker-compose', 'docker-compose', 'Install it: sudo apt-get install -y docker-compose', () => {});
  compose = composeConfig();
});

describe('docker-compose.yml', () => {
  it('is valid and has Pushpin, the origin, and Redis only under its profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['origin', 'pushpin', 'redis']);
    expect(compose.services.redis!.profiles).toEqual(['redis']);
    expect(compose.services.pushpin!.image).toBe(COMPOSE_PUSHPIN_IMAGE);
    expect(compose.services.pushpin!.image).toMatch(/^fanout\/pushpin:/);
    expect(compose.services.origin!.image).toMatch(/^node:/);
    expect(compose.services.origin!.command).toMatch(/npm install .*&& exec node --import tsx origin\/server\.ts/);
    expect(compose.services.origin!.command).not.toMatch(/npm ci/);
  });

  it('publishes the ports of npm start: Pushpin 7677 and 5561-5564 from fastly.toml, the origin backend port', () => {
    const published = (service: string): number[] => portsOf(compose.services[service]!).map((p) => p.published).sort((a, b) => a - b);
    const { proxyPort, publishPort } = manifest.pushpin;
    expect(published('pushpin')).toEqual([publishPort, publishPort + 1, publishPort + 2, publishPort + 3, proxyPort].sort((a, b) => a - b));
    expect(published('origin')).toEqual([Number(origin.url.port)]);
    for (const service of ['pushpin', 'origin', 'redis']) {
      for (const port of portsOf(compose.services[service]!)) {
        expect(port.target, service).toBe(port.published);
        // Loopback only, as npm start: Pushpin's publish port takes publishes without authentication.
        expect(port.host, service).toBe('127.0.0.1');
      }
    }
    expect(compose.services.origin!.environment!.PORT).toBe(origin.url.port);
    expect(compose.services.origin!.environment!.HOST).toBe('0.0.0.0');
  });

  it('mounts the generated Pushpin config read-only, so the image entrypoint leaves it alone', () => {
    expect(compose.services.pushpin!.volumes).toEqual([`${COMPOSE_CONFIG_DIR}:/etc/pushpin:ro`]);
  });

  it('mounts config files that are exactly what the generator makes from fastly.toml now', () => {
    const expected = buildComposePushpinFiles(manifest);
    const paths = composeConfigFiles();
    const stale = 'stale: run `npm run compose:config` and commit scripts/pushpin/compose/';
    expect(readFileSync(paths.config, 'utf8'), stale).toBe(expected.config);
    expect(readFileSync(paths.routes, 'utf8'), stale).toBe(expected.routes);
  });

  it("signs with the origin's verify key and the CLI's issuer, publishes where the origin sends, routes to the origin service", () => {
    const config = readFileSync(composeConfigFiles().config, 'utf8');
    const env = compose.services.origin!.environment!;
    expect(readPushpinSetting(config, 'proxy', 'sig_key')).toBe(LOCAL_GRIP_SIG_KEY);
    expect(readPushpinSetting(config, 'proxy', 'sig_iss')).toBe(LOCAL_GRIP_SIG_ISS);
    expect(env.GRIP_VERIFY_KEY).toBe(LOCAL_GRIP_SIG_KEY);
    expect(env.GRIP_URL).toBe(`http://pushpin:${manifest.pushpin.publishPort}/?verify-iss=${LOCAL_GRIP_SIG_ISS}`);
    expect(readPushpinSetting(config, 'runner', 'http_port')).toBe(String(manifest.pushpin.proxyPort));
    expect(readPushpinSetting(config, 'handler', 'push_in_http_port')).toBe(String(manifest.pushpin.publishPort));
    expect(readPushpinSetting(config, 'handler', 'push_in_http_addr')).toBe('0.0.0.0');
    expect(readPushpinSetting(config, 'handler', 'command_spec')).toBe(`tcp://0.0.0.0:${manifest.pushpin.publishPort + 3}`);
    // The image's Pushpin version decides the service names.
    const imageVersion = parsePushpinVersion(COMPOSE_PUSHPIN_IMAGE.split(':')[1]!);
    expect(readPushpinSetting(config, 'runner', 'services')).toBe(pushpinRunnerLayout(imageVersion).services.join(','));
    // One route per fastly.toml backend; `origin` goes to the compose service on the origin's port.
    const routes = readFileSync(composeConfigFiles().routes, 'utf8').trim().split('\n');
    expect(routes.map((line) => line.split(/[ ,]/)[0])).toEqual(manifest.backends.map((b) => `id=${b.name}`));
    expect(routes).toContain(`id=origin ${COMPOSE_ORIGIN_SERVICE}:${env.PORT},over_http`);
  });

  it('passes REDIS_URL to the origin only when it is set, for --profile redis', () => {
    expect(compose.services.origin!.environment!.REDIS_URL ?? null).toBeNull();
    const withRedis = composeConfig(['--profile', 'redis'], { REDIS_URL: 'redis://redis:6379' });
    expect(withRedis.services.origin!.environment!.REDIS_URL).toBe('redis://redis:6379');
    expect(compose.services.origin!.environment!.PUBLISH_TOKEN).toBe('dev-publish-token');
  });

  it("gives the origin an environment its configuration accepts (0.0.0.0 in the container, the dev token by explicit opt-in)", () => {
    const env = Object.fromEntries(
      Object.entries(compose.services.origin!.environment!).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    expect(loadOriginConfig(env)).toMatchObject({ host: '0.0.0.0', localOnly: false, usingDevPublishToken: true, usingDevGripKey: true, metricsToken: undefined });
    // Without the Grip-Sig opt-in it would refuse to start, naming GRIP_VERIFY_KEY.
    const { ALLOW_DEV_GRIP_KEY: _gripOptIn, ...withoutGripOptIn } = env;
    expect(() => loadOriginConfig(withoutGripOptIn)).toThrow(/^GRIP_VERIFY_KEY: .*public development key/);
    // Without the publish-token opt-in it would refuse to start, naming PUBLISH_TOKEN; with a token from the shell it needs none.
    const { ALLOW_DEV_PUBLISH_TOKEN: _optIn, ...withoutOptIn } = env;
    expect(() => loadOriginConfig(withoutOptIn)).toThrow(/^PUBLISH_TOKEN: /);
    const withToken = composeConfig([], { PUBLISH_TOKEN: 'my-compose-secret' }).services.origin!.environment!;
    expect(withToken.PUBLISH_TOKEN).toBe('my-compose-secret');
    expect(loadOriginConfig({ ...withoutOptIn, PUBLISH_TOKEN: 'my-compose-secret' }).usingDevPublishToken).toBe(false);
  });
});
