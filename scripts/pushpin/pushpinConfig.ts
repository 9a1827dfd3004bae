// Writes the Pushpin configuration `fastly compute serve` would write for this manifest (same ports,
// same signing key and issuer, one route per backend), adapted to the installed Pushpin version.
// Pure: the caller supplies directories and ports, so it can be unit tested and run many times at once.
import type { ManifestBackend } from '../shared/fastlyManifest.ts';
import { buildZurlTemplate, type ZurlLibdirs } from './zurlLibdir.ts';
import { DEFAULT_PUSHPIN_PROFILE, profileLines, PUSHPIN_PROFILES, type ProfileSection, type PushpinProfileName } from './pushpinProfiles.ts';
import { compareVersions, formatVersion, OLDEST_SUPPORTED_PUSHPIN, type PushpinVersion } from './pushpinVersion.ts';

/** The dev signing key and issuer Viceroy and the Fastly CLI use; the origin verifies Grip-Sig with them. */
export const LOCAL_GRIP_SIG_ISS = 'viceroy';
export const LOCAL_GRIP_SIG_KEY = 'viceroy_dev_signing_key_dont_use_in_production';
/** Fanout's publish body limit, which the CLI also sets locally. */
export const PUBLISH_MAX_BODY_BYTES = 65536;
/**
 * `[handler]` key for that limit before Pushpin 1.41: handlers up to 1.40 read `push_in_max_body_size`,
 * 1.41 reads the `push_in_http_max_body_size` the Fastly CLI writes (github fastly/pushpin, handlerapp.cpp).
 */
export const LEGACY_PUBLISH_BODY_LIMIT_KEY = 'push_in_max_body_size';

export interface PushpinConfigInput {
  version: PushpinVersion;
  /** Absolute directory for Pushpin's IPC sockets. */
  rundir: string;
  /** Absolute directory for Pushpin's logs. */
  logdir: string;
  proxyPort: number;
  /** HTTP publish port; the ZeroMQ ports are the next three, as the Fastly CLI lays them out. */
  publishPort: number;
  backends: ManifestBackend[];
  /**
   * Where the publish port and the ZeroMQ ports listen: 127.0.0.1 (the default, as for the CLI's
   * ZeroMQ ports), or 0.0.0.0 in a container whose ports other containers and the host must reach.
   */
  bindAddress?: string;
  /**
   * Where the proxy (the client port, `[runner] http_port`) listens: LOOPBACK by default, since the
   * local stack runs with development keys (see proxyListenValue), or EVERY_INTERFACE (`npm start --
   * --pushpin-listen-all`; docker-compose's container, whose port the compose file publishes).
   */
  proxyAddress?: typeof LOOPBACK | typeof EVERY_INTERFACE;
  /**
   * The delivery settings (client buffer, shaping, id cache, subscription cap: pushpinProfiles.ts);
   * default DEFAULT_PUSHPIN_PROFILE.
   */
  profile?: PushpinProfileName;
  /**
   * Versions that run zurl (before 1.38): our own runner template directory (absolute) and the
   * package's, the one that holds internal.conf (Debian: /usr/lib/pushpin). With both, the config
   * points `[global] libdir` at `own`, where the caller writes `zurlTemplate` as
   * `runner/zurl.conf.template`, and includes the package's internal.conf by its absolute path.
   * Without them zurl keeps the package's limits (see ZURL_LIMITS, zurlLibdir.ts, for why that matters).
   */
  libdirs?: ZurlLibdirs;
  /** `[proxy] workers` on 1.39+ (default DEFAULT_PROXY_WORKERS); older versions have one proxy thread. */
  proxyWorkers?: number;
}

export const LOOPBACK = '127.0.0.1';
export const EVERY_INTERFACE = '0.0.0.0';

/**
 * `[runner] http_port` for the proxy on `address`. Pushpin reads each comma-separated entry as
 * `PORT` (every interface: condure gets `--listen=0.0.0.0:PORT,stream`) or `ADDRESS:PORT` (condure
 * gets `--listen=ADDRESS:PORT,stream`): 1.36's runner (src/runner/app.cpp parsePort, condureservice.cpp)
 * and 1.41's (src/runner/mod.rs get_socket) alike. Every interface is written as the bare port, as the
 * Fastly CLI writes it.
 */
export function proxyListenValue(address: typeof LOOPBACK | typeof EVERY_INTERFACE, port: number): string {
  return address === EVERY_INTERFACE ? String(port) : `${address}:${port}`;
}

/** Connections Pushpin accepts at once (`[runner] client_maxconn`), as the package's default. */
export const CLIENT_MAXCONN = 50000;
/** Proxy threads on 1.39+: one per core of the 2-core box the benchmarks were measured on. */
export const DEFAULT_PROXY_WORKERS = 2;

export interface PushpinConfigFiles {
  /** Contents of pushpin.conf. */
  config: string;
  /** Contents of the routes file that pushpin.conf names as `routes`. */
  routes: string;
  /** With `libdirs` on a version that runs zurl: the text of `<own>/runner/zurl.conf.template`. */
  zurlTemplate?: string;
}

/**
 * What the runner of a given Pushpin version expects, from its example config and internal.conf
 * (github fastly/pushpin, v1.36.0-v1.41.0). 1.38 moved Condure into Pushpin and made outgoing
 * requests go through it (no zurl service); 1.40 renamed Condure to connmgr and the services with it,
 * which is what the Fastly CLI writes. A runner given names it does not know starts nothing and never
 * prints "started".
 */
export interface PushpinRunnerLayout {
  /** `[runner] services`, in start order. */
  services: readonly string[];
  /** `[proxy]` settings the proxy needs on this version, beyond the package's internal.conf. */
  proxySettings: Readonly<Record<string, string>>;
}

const atLeast = (version: PushpinVersion, major: number, minor: number): boolean =>
  compareVersions(version, { major, minor, patch: 0 }) >= 0;

export function pushpinRunnerLayout(version: PushpinVersion): PushpinRunnerLayout {
  if (compareVersions(version, OLDEST_SUPPORTED_PUSHPIN) < 0) {
    throw new Error(
      `Pushpin ${formatVersion(version)} is too old: ${formatVersion(OLDEST_SUPPORTED_PUSHPIN)} or newer is needed (accept_pushpin_route)`,
    );
  }
  if (atLeast(version, 1, 40)) return { services: ['connmgr', 'proxy', 'handler'], proxySettings: {} };
  if (atLeast(version, 1, 38)) return { services: ['condure', 'pushpin-proxy', 'pushpin-handler'], proxySettings: {} };
  return {
    services: ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler'],
    // Debian's 1.36 internal.conf points the proxy at a system-wide zurl (/var/run/zurl); point it at
    // the zurl this runner starts instead (the specs upstream's internal.conf has).
    proxySettings: {
      zurl_out_specs: 'ipc://{rundir}/{ipc_prefix}zurl-in',
      zurl_out_stream_specs: 'ipc://{rundir}/{ipc_prefix}zurl-in-stream',
      zurl_in_specs: 'ipc://{rundir}/{ipc_prefix}zurl-out',
    },
  };
}

/** Service names across versions: 1.40 renamed the ones before it. */
export const SERVICE_RENAMES_1_40: Readonly<Record<string, string>> = {
  condure: 'connmgr',
  'pushpin-proxy': 'proxy',
  'pushpin-handler': 'handler',
};

/**
 * Pushpin 1.36 loses a request's route id when it retries a long-poll whose hold conflicts with an id
 * it already published (the handler's accept retry carries no route; fixed in 1.37), and the proxy
 * then crashes on an assertion if no route matches by domain. Measured here: a long-poll held while a
 * batch is published brought the whole Pushpin down.
 */
export function needsDefaultRoute(version: PushpinVersion): boolean {
  return compareVersions(version, { major: 1, minor: 37, patch: 0 }) < 0;
}

/** The backend a retried request without a route id goes to: `origin` when there is one, else the first. */
export function defaultRouteName(names: string[]): string | undefined {
  return names.includes('origin') ? 'origin' : names[0];
}

/** One `id=<name>` route line per backend, in the format the Fastly CLI writes. */
export function buildRoutes(backends: ManifestBackend[]): string {
  const lines = backends.map((backend) => {
    const condition = [`id=${backend.name}`];
    if (backend.url.pathname !== '/' && backend.url.pathname !== '') condition.push(`replace_beg=${backend.url.pathname}`);
    const https = backend.url.protocol === 'https:';
    const target = [`${backend.url.hostname}:${backend.url.port || (https ? '443' : '80')}`, 'over_http'];
    if (https) target.push('ssl');
    if (backend.overrideHost) target.push(`host=${backend.overrideHost}`);
    return `${condition.join(',')} ${target.join(',')}`;
  });
  return `${lines.join('\n')}\n`;
}

const ROUTE_ID = /^id=([^,\s]+)/;

/**
 * The routes for `version`: on 1.36 a catch-all line (`*`, any host) is added after the id routes,
 * the default backend's line with its `id=` condition replaced (see needsDefaultRoute). A request
 * that carries `pushpin-route` still takes its id route. Routes written by us and by the Fastly CLI
 * go through here, so both get the same rule. Unchanged when not needed, or when a catch-all exists.
 */
export function withDefaultRoute(routes: string, version: PushpinVersion): { routes: string; added?: string } {
  if (!needsDefaultRoute(version)) return { routes };
  const lines = routes.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.some((line) => line.split(/\s+/)[0]!.split(',').includes('*'))) return { routes };
  const named = new Map(lines.flatMap((line) => {
    const id = ROUTE_ID.exec(line)?.[1];
    return id ? [[id, line] as const] : [];
  }));
  const name = defaultRouteName([...named.keys()]);
  if (name === undefined) return { routes };
  const [conditions, ...target] = named.get(name)!.split(/\s+/);
  const added = [['*', ...conditions!.split(',').filter((c) => !c.startsWith('id='))].join(','), ...target].join(' ');
  return { routes: `${routes}${routes === '' || routes.endsWith('\n') ? '' : '\n'}${added}\n`, added };
}

function assertAbsolute(path: string, what: string): void {
  if (!path.startsWith('/')) throw new Error(`${what} must be an absolute path, got ${path}`);
}

export function buildPushpinConfig(input: PushpinConfigInput): PushpinConfigFiles {
  assertAbsolute(input.rundir, 'rundir');
  assertAbsolute(input.logdir, 'logdir');
  const layout = pushpinRunnerLayout(input.version);
  const ownZurl = input.libdirs !== undefined && layout.services.includes('zurl');
  if (ownZurl) {
    assertAbsolute(input.libdirs!.own, 'libdirs.own');
    assertAbsolute(input.libdirs!.package, 'libdirs.package');
  }
  const p = input.publishPort;
  const bind = input.bindAddress ?? '127.0.0.1';
  if (input.proxyWorkers !== undefined && (!Number.isInteger(input.proxyWorkers) || input.proxyWorkers < 1 || input.proxyWorkers > 64)) {
    throw new Error(`proxyWorkers must be a whole number from 1 to 64, got ${input.proxyWorkers}`);
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(bind)) throw new Error(`bindAddress must be an IPv4 address, got ${bind}`);
  const profile = input.profile ?? DEFAULT_PUSHPIN_PROFILE;
  const lines = profileLines(profile, input.version);
  const profileSettings = (section: ProfileSection): string[] =>
    lines.filter((line) => line.section === section).map((line) => `${line.key}=${line.value}`);
  const config = [
    '# Generated from fastly.toml by scripts/pushpin; equivalent to what `fastly compute serve` writes.',
    `# Pushpin profile ${profile} (scripts/pushpin/pushpinProfiles.ts): ${PUSHPIN_PROFILES[profile].justification}.`,
    '[global]',
    ...(ownZurl
      ? [
          // The runner reads its zurl template from <libdir>/runner (zurl's limits: ZURL_LIMITS);
          // internal.conf stays the package's.
          `include=${input.libdirs!.package}/internal.conf`,
          `libdir=${input.libdirs!.own}`,
        ]
      : ['include={libdir}/internal.conf']),
    `rundir=${input.rundir}`,
    'ipc_prefix=pushpin-',
    'port_offset=0',
    '',
    '[runner]',
    `services=${layout.services.join(',')}`,
    // Loopback unless asked: through the proxy anyone reaches the origin, which (on loopback itself)
    // accepts the development publish token, with requests Pushpin signs with the development key.
    `http_port=${proxyListenValue(input.proxyAddress ?? LOOPBACK, input.proxyPort)}`,
    `logdir=${input.logdir}`,
    // INFO: one line per request and per published item (not per delivery), which the tests read.
    'log_level=2',
    // The profile's client buffer: a burst of published messages past it is partly dropped.
    ...profileSettings('runner'),
    // Connections condure (and on 1.36 zurl, ZURL_LIMITS) hold at once; each needs a descriptor, so
    // the shell's `ulimit -n` is the real limit (the fan-out benchmark checks it before a run).
    `client_maxconn=${CLIENT_MAXCONN}`,
    '',
    '[proxy]',
    'routesfile=routes',
    'accept_pushpin_route=true',
    `sig_iss=${LOCAL_GRIP_SIG_ISS}`,
    `sig_key=${LOCAL_GRIP_SIG_KEY}`,
    'updates_check=off',
    // 1.39+: WebSocket deliveries and every proxied request pass the proxy, one thread per worker;
    // 1.36-1.38 have one (the fan-out benchmark's WebSocket ceiling, README).
    ...(atLeast(input.version, 1, 39) ? [`workers=${input.proxyWorkers ?? DEFAULT_PROXY_WORKERS}`] : []),
    ...Object.entries(layout.proxySettings).map(([key, value]) => `${key}=${value}`),
    '',
    '[handler]',
    `push_in_http_addr=${bind}`,
    `push_in_http_port=${p}`,
    `push_in_http_max_body_size=${PUBLISH_MAX_BODY_BYTES}`,
    // The same limit under the name handlers before 1.41 read (1.36-1.40 ignore the one above and
    // accept 1 MB): a publish Fastly would refuse is refused here too ("Request body too large").
    `${LEGACY_PUBLISH_BODY_LIMIT_KEY}=${PUBLISH_MAX_BODY_BYTES}`,
    `push_in_spec=tcp://${bind}:${p + 1}`,
    `push_in_sub_specs=tcp://${bind}:${p + 2}`,
    `command_spec=tcp://${bind}:${p + 3}`,
    // The profile's delivery settings: shaping, sequencer wait, id cache, subscription cap.
    ...profileSettings('handler'),
    '',
  ].join('\n');
  return {
    config,
    routes: withDefaultRoute(buildRoutes(input.backends), input.version).routes,
    ...(ownZurl ? { zurlTemplate: buildZurlTemplate() } : {}),
  };
}

/** Every TCP port the generated config listens on, for collision checks. */
export function pushpinPorts(proxyPort: number, publishPort: number): number[] {
  return [proxyPort, publishPort, publishPort + 1, publishPort + 2, publishPort + 3];
}
