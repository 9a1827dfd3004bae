import { describe, expect, it } from 'vitest';
import { parseManifest } from '../shared/fastlyManifest.ts';
import { buildPushpinConfig, buildRoutes, EVERY_INTERFACE, LOOPBACK, proxyListenValue, pushpinPorts, withDefaultRoute } from './pushpinConfig.ts';
import { parsePushpinVersion } from './pushpinVersion.ts';
import { DEFAULT_PUSHPIN_PROFILE, PUSHPIN_PROFILES, type PushpinProfileName } from './pushpinProfiles.ts';
import { ZURL_LIMITS } from './zurlLibdir.ts';

const manifest = parseManifest(`
manifest_version = 3
name = "t"
language = "javascript"
[local_server.backends.origin]
url = "http://127.0.0.1:3000"
override_host = "example.internal"
[local_server.backends.api]
url = "https://api.example.com:8443/v1"
[local_server.pushpin]
enable = true
`);

const base = {
  rundir: '/tmp/run',
  logdir: '/tmp/logs',
  proxyPort: 7677,
  publishPort: 5561,
  backends: manifest.backends,
};

function settings(config: string): Map<string, string> {
  const map = new Map<string, string>();
  let section = '';
  for (const line of config.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const kv = /^([\w-]+)=(.*)$/.exec(line);
    if (kv) map.set(`${section}.${kv[1]}`, kv[2]!);
  }
  return map;
}

describe('Pushpin config from fastly.toml', () => {
  it('reads the manifest defaults for ports', () => {
    expect(manifest.pushpin).toEqual({ enable: true, proxyPort: 7677, publishPort: 5561 });
  });

  it('writes one route per backend with id=, over_http, ssl, host and path prefix', () => {
    expect(buildRoutes(manifest.backends)).toBe(
      'id=origin 127.0.0.1:3000,over_http,host=example.internal\n' +
        'id=api,replace_beg=/v1 api.example.com:8443,over_http,ssl\n',
    );
  });

  it("sets Fanout's 64 KiB publish limit under both keys (handlers before 1.41 read push_in_max_body_size)", () => {
    for (const version of ['pushpin 1.36.0', 'pushpin 1.41.0']) {
      const s = settings(buildPushpinConfig({ ...base, version: parsePushpinVersion(version) }).config);
      expect(s.get('handler.push_in_http_max_body_size')).toBe('65536');
      expect(s.get('handler.push_in_max_body_size')).toBe('65536');
    }
  });

  it('adds a catch-all route to the origin backend for Pushpin 1.36 only (its long-poll retries lose the route id)', () => {
    const routes = (version: string) => buildPushpinConfig({ ...base, version: parsePushpinVersion(version) }).routes;
    expect(routes('pushpin 1.36.0')).toBe(
      'id=origin 127.0.0.1:3000,over_http,host=example.internal\n' +
        'id=api,replace_beg=/v1 api.example.com:8443,over_http,ssl\n' +
        '* 127.0.0.1:3000,over_http,host=example.internal\n',
    );
    expect(routes('pushpin 1.37.0')).not.toMatch(/^\* /m);
    expect(routes('pushpin 1.41.0')).not.toMatch(/^\* /m);
  });

  it('targets Pushpin 1.36 with its service names and a private zurl', () => {
    const { config } = buildPushpinConfig({ ...base, version: parsePushpinVersion('pushpin 1.36.0') });
    const s = settings(config);
    expect(s.get('runner.services')).toBe('condure,zurl,pushpin-proxy,pushpin-handler');
    expect(s.get('proxy.zurl_out_specs')).toBe('ipc://{rundir}/{ipc_prefix}zurl-in');
    expect(s.get('proxy.zurl_out_stream_specs')).toBe('ipc://{rundir}/{ipc_prefix}zurl-in-stream');
    expect(s.get('proxy.zurl_in_specs')).toBe('ipc://{rundir}/{ipc_prefix}zurl-out');
    expect(s.get('global.include')).toBe('{libdir}/internal.conf');
  });

  it("uses each newer version's service names, and no zurl once Condure makes outgoing requests", () => {
    const expected: Array<[string, string]> = [
      ['pushpin 1.37.0', 'condure,zurl,pushpin-proxy,pushpin-handler'],
      ['pushpin 1.38.0', 'condure,pushpin-proxy,pushpin-handler'],
      ['pushpin 1.39.1', 'condure,pushpin-proxy,pushpin-handler'],
      ['Pushpin 1.40.0', 'connmgr,proxy,handler'],
      ['Pushpin 1.41.0', 'connmgr,proxy,handler'],
      ['pushpin 2.0.0', 'connmgr,proxy,handler'],
    ];
    for (const [version, services] of expected) {
      const s = settings(buildPushpinConfig({ ...base, version: parsePushpinVersion(version) }).config);
      expect(s.get('runner.services'), version).toBe(services);
      expect(s.has('proxy.zurl_out_specs'), version).toBe(services.includes('zurl'));
    }
  });

  it('refuses a Pushpin older than 1.35 (no accept_pushpin_route)', () => {
    expect(() => buildPushpinConfig({ ...base, version: parsePushpinVersion('1.34.0') })).toThrow(/1\.34\.0 is too old/);
  });

  it('matches what the Fastly CLI sets: ports, signing, route header, publish limit', () => {
    const s = settings(buildPushpinConfig({ ...base, version: parsePushpinVersion('1.36.0') }).config);
    // The CLI's port, on loopback only (the CLI writes the bare port: every interface).
    expect(s.get('runner.http_port')).toBe('127.0.0.1:7677');
    expect(s.get('runner.rundir') ?? s.get('global.rundir')).toBe('/tmp/run');
    expect(s.get('runner.logdir')).toBe('/tmp/logs');
    expect(s.get('proxy.accept_pushpin_route')).toBe('true');
    expect(s.get('proxy.sig_iss')).toBe('viceroy');
    expect(s.get('proxy.sig_key')).toBe('viceroy_dev_signing_key_dont_use_in_production');
    expect(s.get('handler.push_in_http_port')).toBe('5561');
    expect(s.get('handler.push_in_spec')).toBe('tcp://127.0.0.1:5562');
    expect(s.get('handler.push_in_sub_specs')).toBe('tcp://127.0.0.1:5563');
    expect(s.get('handler.command_spec')).toBe('tcp://127.0.0.1:5564');
    expect(s.get('handler.push_in_http_max_body_size')).toBe('65536');
    expect(s.get('handler.connection_subscription_max')).toBe('20');
    expect(s.get('handler.message_rate')).toBe('0');
    expect(pushpinPorts(7677, 5561)).toEqual([7677, 5561, 5562, 5563, 5564]);
  });

  it('follows custom ports from the manifest', () => {
    const custom = parseManifest(`
[local_server.backends.origin]
url = "http://127.0.0.1:4000"
[local_server.pushpin]
proxy_port = 9000
publish_port = 9100
`);
    const s = settings(buildPushpinConfig({ ...base, ...custom.pushpin, backends: custom.backends, version: parsePushpinVersion('1.36.0') }).config);
    expect(s.get('runner.http_port')).toBe('127.0.0.1:9000');
    expect(s.get('handler.push_in_spec')).toBe('tcp://127.0.0.1:9101');
  });

  it('puts the proxy on every interface only when asked, and leaves the publish ports where they are', () => {
    const s = settings(buildPushpinConfig({ ...base, version: parsePushpinVersion('1.36.0'), proxyAddress: EVERY_INTERFACE }).config);
    expect(s.get('runner.http_port')).toBe('7677');
    expect(s.get('handler.push_in_http_addr')).toBe('127.0.0.1');
    expect(proxyListenValue(LOOPBACK, 7677)).toBe('127.0.0.1:7677');
    expect(proxyListenValue(EVERY_INTERFACE, 7677)).toBe('7677');
  });

  it('refuses relative run and log directories', () => {
    expect(() => buildPushpinConfig({ ...base, rundir: 'run', version: parsePushpinVersion('1.36.0') })).toThrow(/absolute/);
  });

  it('reports bad manifests clearly', () => {
    expect(() => parseManifest('[local_server.backends.origin]\nurl = "not a url"')).toThrow(/not a valid URL/);
    expect(() => parseManifest('[local_server.pushpin]\nproxy_port = 70000')).toThrow(/proxy_port must be a port/);
    expect(() => parseManifest('this is = = not toml')).toThrow(/not valid TOML/);
    expect(() => parsePushpinVersion('')).toThrow(/cannot read a Pushpin version/);
  });

  it('reads config stores from inline TOML', () => {
    const m = parseManifest(`
[local_server.config_stores.edge_settings]
format = "inline-toml"
[local_server.config_stores.edge_settings.contents]
realtime_paths = "/events/"
`);
    expect(m.configStores).toEqual({ edge_settings: { realtime_paths: '/events/' } });
  });

  it('adds the 1.36 catch-all to any routes text: the origin line (else the first) with its id condition replaced, once', () => {
    const v136 = parsePushpinVersion('1.36.0');
    const twoRoutes = 'id=api,replace_beg=/v1 api.internal:443,over_http,ssl\nid=origin 127.0.0.1:3000,over_http\n';
    expect(withDefaultRoute(twoRoutes, v136)).toEqual({ routes: `${twoRoutes}* 127.0.0.1:3000,over_http\n`, added: '* 127.0.0.1:3000,over_http' });
    const noOrigin = 'id=api,replace_beg=/v1 api.internal:443,over_http,ssl';
    expect(withDefaultRoute(noOrigin, v136).routes).toBe(`${noOrigin}\n*,replace_beg=/v1 api.internal:443,over_http,ssl\n`);
    // Already there (the wrapper run on its own output, or a hand-written catch-all): unchanged.
    const once = withDefaultRoute(twoRoutes, v136).routes;
    expect(withDefaultRoute(once, v136)).toEqual({ routes: once });
    expect(withDefaultRoute('', v136)).toEqual({ routes: '' });
    expect(withDefaultRoute(twoRoutes, parsePushpinVersion('1.37.0'))).toEqual({ routes: twoRoutes });
  });
});

describe("zurl's limits (versions that run zurl)", () => {
  const libdirs = { own: '/tmp/work/lib', package: '/usr/lib/pushpin' };

  it('points libdir at our runner template and includes the package internal.conf by path', () => {
    const files = buildPushpinConfig({ ...base, version: parsePushpinVersion('1.36.0'), libdirs });
    const s = settings(files.config);
    expect(s.get('global.include')).toBe('/usr/lib/pushpin/internal.conf');
    expect(s.get('global.libdir')).toBe('/tmp/work/lib');
    const zurl = settings(files.zurlTemplate!);
    expect(zurl.get('General.in_spec')).toBe('ipc://{{ rundir }}/{{ ipc_prefix }}zurl-in');
    expect(zurl.get('General.in_stream_spec')).toBe('ipc://{{ rundir }}/{{ ipc_prefix }}zurl-in-stream');
    expect(zurl.get('General.out_spec')).toBe('ipc://{{ rundir }}/{{ ipc_prefix }}zurl-out');
    expect(Number(zurl.get('General.max_open_requests'))).toBe(ZURL_LIMITS.maxOpenRequests);
    expect(Number(zurl.get('General.in_hwm'))).toBe(ZURL_LIMITS.inHwm);
    expect(zurl.get('General.defpolicy')).toBe('allow');
  });

  it('leaves libdir alone without libdirs, and on versions without zurl', () => {
    const without = buildPushpinConfig({ ...base, version: parsePushpinVersion('1.36.0') });
    expect(settings(without.config).get('global.include')).toBe('{libdir}/internal.conf');
    expect(without.zurlTemplate).toBeUndefined();
    const newer = buildPushpinConfig({ ...base, version: parsePushpinVersion('1.41.0'), libdirs });
    expect(settings(newer.config).get('global.include')).toBe('{libdir}/internal.conf');
    expect(settings(newer.config).has('global.libdir')).toBe(false);
    expect(newer.zurlTemplate).toBeUndefined();
  });

  it('refuses relative library directories', () => {
    expect(() => buildPushpinConfig({ ...base, version: parsePushpinVersion('1.36.0'), libdirs: { own: 'lib', package: '/usr/lib/pushpin' } })).toThrow(/absolute/);
  });
});

describe('proxy workers', () => {
  it('writes [proxy] workers from 1.39 on only, and validates it', () => {
    const at = (version: string, proxyWorkers?: number) =>
      settings(buildPushpinConfig({ ...base, version: parsePushpinVersion(version), ...(proxyWorkers ? { proxyWorkers } : {}) }).config);
    expect(at('1.36.0').has('proxy.workers')).toBe(false);
    expect(at('1.38.0').has('proxy.workers')).toBe(false);
    expect(at('1.39.0').get('proxy.workers')).toBe('2');
    expect(at('1.41.0', 4).get('proxy.workers')).toBe('4');
    expect(() => at('1.41.0', 0.5)).toThrow(/proxyWorkers/);
  });

  describe('Pushpin profiles', () => {
    const profileKeys = ['runner.client_buffer_size', 'handler.message_rate', 'handler.message_hwm', 'handler.message_wait', 'handler.id_cache_ttl', 'handler.connection_subscription_max', 'handler.subscription_linger'];
    const written = (profile: PushpinProfileName | undefined, version: string) => {
      const { config } = buildPushpinConfig({ ...base, version: parsePushpinVersion(version), ...(profile ? { profile } : {}) });
      const s = settings(config);
      return { config, values: Object.fromEntries(profileKeys.map((key) => [key, s.get(key)])) };
    };

    it("writes each profile's settings in [runner] and [handler] on every version, and names the profile", () => {
      const expected: Record<PushpinProfileName, string[]> = {
        fanout: ['8192', '0', '0', '5000', '60', '20', '60'],
        'fanout-node': ['8192', '2500', '25000', '5000', '60', '20', '60'],
        gentle: ['262144', '0', '200000', '5000', '0', '20', '60'],
      };
      for (const version of ['1.36.0', '1.38.0', '1.39.1', '1.41.0']) {
        for (const [profile, values] of Object.entries(expected) as Array<[PushpinProfileName, string[]]>) {
          const { config, values: got } = written(profile, version);
          expect(got, `${profile} ${version}`).toEqual(Object.fromEntries(profileKeys.map((key, i) => [key, values[i]])));
          expect(config, `${profile} ${version}`).toContain(`# Pushpin profile ${profile} (scripts/pushpin/pushpinProfiles.ts): ${PUSHPIN_PROFILES[profile].justification}.`);
          // Each setting once (the CLI's connection_subscription_max line is the profile's now).
          for (const key of profileKeys) expect(config.split('\n').filter((line) => line.startsWith(`${key.split('.')[1]}=`)), key).toHaveLength(1);
        }
      }
    });

    it('uses the default profile when none is given', () => {
      expect(written(undefined, '1.36.0')).toEqual(written(DEFAULT_PUSHPIN_PROFILE, '1.36.0'));
    });
  });
});
