import { describe, expect, it } from 'vitest';
import { buildPushpinConfig } from './pushpinConfig.ts';
import { parsePushpinVersion, type PushpinVersion } from './pushpinVersion.ts';
import { adaptPushpinConfig as adaptWithOptions, adaptPushpinRoutes, anchorRoutesFile, loopbackProxyPorts, readPushpinSetting, type AdaptOptions } from './pushpinConfigAdapter.ts';
import { DEFAULT_PUSHPIN_PROFILE, type PushpinProfileName } from './pushpinProfiles.ts';
import { buildZurlTemplate } from './zurlLibdir.ts';

// Shaped like the config `fastly compute serve` writes (commented sections, 1.40+ service names, no
// zurl specs, absolute routes file, Pushpin's example delivery settings: CLI 16.1 writes them all);
// written for this test, not taken from the CLI.
const cliStyleConfig = [
  '[global]',
  'include={libdir}/internal.conf',
  '',
  '# where runtime files go',
  'rundir=/tmp/pushpin-0000abcd',
  'ipc_prefix=',
  '',
  '[runner]',
  '# services to start',
  'services=connmgr,proxy,handler',
  'http_port=7677',
  'logdir=/work/app/pushpin-logs',
  '# client full request header must fit in this buffer',
  'client_buffer_size=8192',
  '',
  '[proxy]',
  '# routes config file',
  'routesfile=/tmp/pushpin-routes-0000abcd',
  'accept_pushpin_route=true',
  'sig_iss=viceroy',
  'sig_key=viceroy_dev_signing_key_dont_use_in_production',
  '',
  '[handler]',
  'push_in_http_addr=0.0.0.0',
  'push_in_http_port=5561',
  'message_rate=2500',
  'message_hwm=25000',
  'message_wait=5000',
  'id_cache_ttl=60',
  'connection_subscription_max=20',
  'subscription_linger=60',
  '',
].join('\n');

const v = parsePushpinVersion;

/**
 * The version rules below are checked under the `gentle` profile (262144-byte buffers), whatever the
 * default is; the profile rules have their own tests at the end.
 */
const adaptPushpinConfig = (text: string, version: PushpinVersion, options: AdaptOptions = {}) =>
  adaptWithOptions(text, version, { profile: 'gentle', ...options });

/** What `gentle` changes in the CLI's config: the buffer, and the CLI's shaping and id cache. */
const GENTLE_BUFFER_CHANGE = '[runner] for Pushpin profile gentle: client_buffer_size 8192 -> 262144';
const GENTLE_HANDLER_CHANGE = '[handler] for Pushpin profile gentle: message_rate 2500 -> 0, message_hwm 25000 -> 200000, id_cache_ttl 60 -> 0';
const CLI_HANDLER_LINES = ['message_rate=2500', 'message_hwm=25000', 'id_cache_ttl=60'];
const GENTLE_HANDLER_LINES = ['message_rate=0', 'message_hwm=200000', 'id_cache_ttl=0'];
/** The CLI's config with `gentle`'s values (what a config right for the version under gentle has). */
const asGentle = (text: string): string =>
  text
    .replace('client_buffer_size=8192', 'client_buffer_size=262144')
    .replace('message_rate=2500', 'message_rate=0')
    .replace('message_hwm=25000', 'message_hwm=200000')
    .replace('id_cache_ttl=60', 'id_cache_ttl=0');
/** What every version gets: the CLI's proxy port (every interface) on loopback only. */
const LOOPBACK_PROXY_CHANGE = '[runner] http_port: 7677 -> 127.0.0.1:7677 (loopback only: the local stack runs with development keys)';

/** Lines of `after` that are not in `before` (order kept), and the other way round. */
function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { added: b.filter((line) => !a.includes(line)), removed: a.filter((line) => !b.includes(line)) };
}

function settingsOf(text: string): Record<string, string | undefined> {
  return Object.fromEntries(
    ['runner.services', 'proxy.zurl_out_specs', 'proxy.zurl_out_stream_specs', 'proxy.zurl_in_specs'].map((name) => {
      const [section, key] = name.split('.') as [string, string];
      return [name, readPushpinSetting(text, section, key)];
    }),
  );
}

describe('adapting the Fastly CLI\'s Pushpin config to the installed version', () => {
  it("changes only the proxy's address and the profile's settings on Pushpin 1.40 and newer, and passes a config that has them byte for byte", () => {
    for (const version of ['1.40.0', '1.40.1', '1.41.0', '2.0.0']) {
      const adapted = adaptPushpinConfig(cliStyleConfig, v(version));
      expect(lineDiff(cliStyleConfig, adapted.text)).toEqual({
        removed: ['http_port=7677', 'client_buffer_size=8192', ...CLI_HANDLER_LINES],
        added: ['http_port=127.0.0.1:7677', 'client_buffer_size=262144', ...GENTLE_HANDLER_LINES],
      });
      expect(adapted.changes).toEqual([LOOPBACK_PROXY_CHANGE, GENTLE_BUFFER_CHANGE, GENTLE_HANDLER_CHANGE]);
      const right = asGentle(cliStyleConfig).replace('http_port=7677', 'http_port=127.0.0.1:7677');
      expect(adaptPushpinConfig(right, v(version))).toEqual({ text: right, changes: [] });
    }
    // No setting means Pushpin's default, 8 KiB: the setting is added to [runner].
    const unset = asGentle(cliStyleConfig).replace('client_buffer_size=262144\n', '').replace('http_port=7677', 'http_port=127.0.0.1:7677');
    expect(lineDiff(unset, adaptPushpinConfig(unset, v('1.41.0')).text)).toEqual({ removed: [], added: ['client_buffer_size=262144'] });
    expect(adaptPushpinConfig(unset, v('1.41.0')).changes).toEqual(['[runner] for Pushpin profile gentle: client_buffer_size (unset) -> 262144']);
  });

  it("puts each bare proxy port (Pushpin: every interface) on 127.0.0.1 and keeps a port that names its address", () => {
    expect(loopbackProxyPorts('7677')).toBe('127.0.0.1:7677');
    expect(loopbackProxyPorts(' 7677 ')).toBe('127.0.0.1:7677');
    expect(loopbackProxyPorts('7677,0.0.0.0:8000,192.0.2.2:8001')).toBe('127.0.0.1:7677,0.0.0.0:8000,192.0.2.2:8001');
    expect(loopbackProxyPorts('127.0.0.1:7677')).toBe('127.0.0.1:7677');
    const chosen = cliStyleConfig.replace('http_port=7677', 'http_port=0.0.0.0:7677');
    expect(readPushpinSetting(adaptPushpinConfig(chosen, v('1.41.0')).text, 'runner', 'http_port')).toBe('0.0.0.0:7677');
  });

  it('gives 1.36 its service names and its own zurl, touching no other line', () => {
    const adapted = adaptPushpinConfig(cliStyleConfig, v('1.36.0'));
    expect(lineDiff(cliStyleConfig, adapted.text)).toEqual({
      removed: ['services=connmgr,proxy,handler', 'http_port=7677', 'client_buffer_size=8192', ...CLI_HANDLER_LINES],
      added: [
        'services=condure,zurl,pushpin-proxy,pushpin-handler',
        'http_port=127.0.0.1:7677',
        'client_buffer_size=262144',
        'zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in',
        'zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream',
        'zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out',
        ...GENTLE_HANDLER_LINES,
      ],
    });
    // The specs go in [proxy], after its last setting; the profile's values where the CLI's were.
    const lines = adapted.text.split('\n');
    expect(lines.indexOf('zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in')).toBe(lines.indexOf('sig_key=viceroy_dev_signing_key_dont_use_in_production') + 1);
    expect(lines.indexOf('message_rate=0')).toBe(lines.indexOf('push_in_http_port=5561') + 1);
    expect(adapted.changes).toHaveLength(7);
  });

  it("copies the CLI's publish body limit to the key handlers before 1.41 read", () => {
    const withLimit = cliStyleConfig.replace('push_in_http_port=5561', 'push_in_http_port=5561\npush_in_http_max_body_size=65536');
    for (const version of ['1.36.0', '1.39.1', '1.40.1']) {
      const adapted = adaptPushpinConfig(withLimit, v(version));
      expect(readPushpinSetting(adapted.text, 'handler', 'push_in_max_body_size'), version).toBe('65536');
      expect(adapted.changes.some((c) => c.startsWith('[handler] push_in_max_body_size=65536')), version).toBe(true);
    }
    // 1.41 reads the CLI's key itself: nothing added.
    const newer = adaptPushpinConfig(withLimit, v('1.41.0'));
    expect(readPushpinSetting(newer.text, 'handler', 'push_in_max_body_size')).toBeUndefined();
    expect(newer.changes).toEqual([LOOPBACK_PROXY_CHANGE, GENTLE_BUFFER_CHANGE, GENTLE_HANDLER_CHANGE]);
    // Set by the config itself: left alone.
    const own = withLimit.replace('push_in_http_max_body_size=65536', 'push_in_http_max_body_size=65536\npush_in_max_body_size=1000');
    expect(readPushpinSetting(adaptPushpinConfig(own, v('1.36.0')).text, 'handler', 'push_in_max_body_size')).toBe('1000');
  });

  it('gives 1.38 and 1.39 the Condure-era names and no zurl', () => {
    for (const version of ['1.38.0', '1.39.1']) {
      const adapted = adaptPushpinConfig(cliStyleConfig, v(version));
      expect(lineDiff(cliStyleConfig, adapted.text)).toEqual({
        removed: ['services=connmgr,proxy,handler', 'http_port=7677', 'client_buffer_size=8192', ...CLI_HANDLER_LINES],
        added: ['services=condure,pushpin-proxy,pushpin-handler', 'http_port=127.0.0.1:7677', 'client_buffer_size=262144', ...GENTLE_HANDLER_LINES],
      });
    }
  });

  it('ends up where the generator starts for every older version', () => {
    const fromCli = buildPushpinConfig({
      profile: 'gentle',
      version: v('1.41.0'),
      rundir: '/tmp/run',
      logdir: '/tmp/log',
      proxyPort: 7677,
      publishPort: 5561,
      backends: [],
    }).config;
    for (const version of ['1.35.0', '1.36.0', '1.37.0', '1.38.0', '1.39.1']) {
      const generated = buildPushpinConfig({ profile: 'gentle', version: v(version), rundir: '/tmp/run', logdir: '/tmp/log', proxyPort: 7677, publishPort: 5561, backends: [] }).config;
      expect(settingsOf(adaptPushpinConfig(fromCli, v(version)).text), version).toEqual(settingsOf(generated));
      // A config already right for the version comes back as it was (the wrapper can run on its own output).
      expect(adaptPushpinConfig(generated, v(version)).text, version).toBe(generated);
    }
  });

  it("keeps the config's own zurl specs and adds a missing [proxy] or services line", () => {
    const ownSpecs = cliStyleConfig.replace('accept_pushpin_route=true', 'accept_pushpin_route=true\nzurl_out_specs=ipc:///elsewhere/zurl-in');
    expect(readPushpinSetting(adaptPushpinConfig(ownSpecs, v('1.36.0')).text, 'proxy', 'zurl_out_specs')).toBe('ipc:///elsewhere/zurl-in');

    const bare = '[runner]\nhttp_port=7677\n';
    const adapted = adaptPushpinConfig(bare, v('1.36.0')).text;
    expect(adapted).toBe(
      '[runner]\nhttp_port=127.0.0.1:7677\nservices=condure,zurl,pushpin-proxy,pushpin-handler\nclient_buffer_size=262144\n\n[proxy]\n' +
        'zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in\nzurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream\n' +
        'zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out\n\n[handler]\n' +
        'message_rate=0\nmessage_hwm=200000\nmessage_wait=5000\nid_cache_ttl=0\nconnection_subscription_max=20\nsubscription_linger=60\n',
    );
  });

  it('maps each service it knows and keeps the others, adding zurl only where a proxy needs it', () => {
    const handlerOnly = cliStyleConfig.replace('services=connmgr,proxy,handler', 'services=handler');
    expect(readPushpinSetting(adaptPushpinConfig(handlerOnly, v('1.36.0')).text, 'runner', 'services')).toBe('pushpin-handler');
    const spaced = cliStyleConfig.replace('services=connmgr,proxy,handler', 'services = connmgr, proxy ,handler');
    expect(readPushpinSetting(adaptPushpinConfig(spaced, v('1.36.0')).text, 'runner', 'services')).toBe('condure,zurl,pushpin-proxy,pushpin-handler');
  });

  describe("zurl's limits, where zurl runs and the package's libdir is known", () => {
    const libdirs = { own: '/tmp/pushpin-0000abcd/pushpin-0000abcd.pushpin-1.36.0.lib', package: '/usr/lib/pushpin' };

    it("points libdir at our own zurl template on 1.36 and 1.37, and includes the package's internal.conf by path", () => {
      for (const version of ['1.36.0', '1.37.0']) {
        const adapted = adaptPushpinConfig(cliStyleConfig, v(version), { libdirs });
        const without = adaptPushpinConfig(cliStyleConfig, v(version));
        // Only the two [global] lines differ from what the other rules do.
        expect(lineDiff(without.text, adapted.text), version).toEqual({
          removed: ['include={libdir}/internal.conf'],
          added: ['include=/usr/lib/pushpin/internal.conf', `libdir=${libdirs.own}`],
        });
        // libdir goes in [global], after its last setting.
        const lines = adapted.text.split('\n');
        expect(lines.indexOf(`libdir=${libdirs.own}`)).toBe(lines.indexOf('ipc_prefix=') + 1);
        expect(adapted.zurlTemplate, version).toBe(buildZurlTemplate());
        expect(adapted.changes).toEqual([
          ...without.changes.slice(0, 4),
          '[global] include: {libdir}/internal.conf -> /usr/lib/pushpin/internal.conf',
          `[global] libdir=${libdirs.own} (added: zurl's own template, max_open_requests=50000, in_hwm=50000, out_hwm=50000)`,
          ...without.changes.slice(4),
        ]);
      }
    });

    it('leaves versions without zurl, a config with its own libdir, and one without a proxy as they were', () => {
      for (const version of ['1.38.0', '1.39.1', '1.40.1', '1.41.0']) {
        expect(adaptPushpinConfig(cliStyleConfig, v(version), { libdirs }), version).toEqual(adaptPushpinConfig(cliStyleConfig, v(version)));
      }
      const ownLibdir = cliStyleConfig.replace('ipc_prefix=', 'ipc_prefix=\nlibdir=/opt/pushpin/lib');
      expect(adaptPushpinConfig(ownLibdir, v('1.36.0'), { libdirs })).toEqual(adaptPushpinConfig(ownLibdir, v('1.36.0')));
      const handlerOnly = cliStyleConfig.replace('services=connmgr,proxy,handler', 'services=handler');
      expect(adaptPushpinConfig(handlerOnly, v('1.36.0'), { libdirs })).toEqual(adaptPushpinConfig(handlerOnly, v('1.36.0')));
    });

    it("ends up where the generator starts with the same libdirs, and passes the generator's config byte for byte", () => {
      const input = { profile: 'gentle' as const, rundir: '/tmp/run', logdir: '/tmp/log', proxyPort: 7677, publishPort: 5561, backends: [] };
      const fromCli = buildPushpinConfig({ ...input, version: v('1.41.0') }).config;
      for (const version of ['1.36.0', '1.37.0', '1.38.0']) {
        const generated = buildPushpinConfig({ ...input, version: v(version), libdirs });
        const adapted = adaptPushpinConfig(fromCli, v(version), { libdirs });
        for (const [section, key] of [['global', 'include'], ['global', 'libdir']] as const) {
          expect(readPushpinSetting(adapted.text, section, key), `${version} ${key}`).toBe(readPushpinSetting(generated.config, section, key));
        }
        expect(adapted.zurlTemplate, version).toBe(generated.zurlTemplate);
        expect(adaptPushpinConfig(generated.config, v(version), { libdirs }), version).toEqual({ text: generated.config, changes: [] });
      }
    });

    it('refuses relative libdirs', () => {
      expect(() => adaptPushpinConfig(cliStyleConfig, v('1.36.0'), { libdirs: { own: 'lib', package: '/usr/lib/pushpin' } })).toThrow(/own libdir must be an absolute path/);
    });
  });

  it('refuses a Pushpin too old for the CLI\'s routing', () => {
    expect(() => adaptPushpinConfig(cliStyleConfig, v('1.34.0'))).toThrow(/too old/);
  });

  it('adds the catch-all route to the CLI\'s routes for 1.36 only, leaving its lines as they are', () => {
    const routes = 'id=origin 127.0.0.1:3000,over_http,host=127.0.0.1:3000\nid=api,replace_beg=/v1 api.internal:443,over_http,ssl\n';
    expect(adaptPushpinRoutes(routes, v('1.36.0'))).toEqual({
      routes: `${routes}* 127.0.0.1:3000,over_http,host=127.0.0.1:3000\n`,
      changes: ['routes: added "* 127.0.0.1:3000,over_http,host=127.0.0.1:3000"'],
    });
    for (const version of ['1.37.0', '1.41.0']) expect(adaptPushpinRoutes(routes, v(version))).toEqual({ routes, changes: [] });
  });

  it('anchors a relative routes file for a copy that lives elsewhere', () => {
    expect(readPushpinSetting(anchorRoutesFile('[proxy]\nroutesfile=routes\n', '/etc/app/'), 'proxy', 'routesfile')).toBe('/etc/app/routes');
    expect(readPushpinSetting(anchorRoutesFile('[proxy]\ndebug=false\n', '/etc/app'), 'proxy', 'routesfile')).toBe('/etc/app/routes');
    expect(anchorRoutesFile(cliStyleConfig, '/elsewhere')).toBe(cliStyleConfig);
  });

  describe('Pushpin profiles', () => {
    const profileSettings = (text: string): Record<string, string | undefined> =>
      Object.fromEntries(
        ['runner.client_buffer_size', ...['message_rate', 'message_hwm', 'message_wait', 'id_cache_ttl', 'connection_subscription_max', 'subscription_linger'].map((k) => `handler.${k}`)].map(
          (name) => {
            const [section, key] = name.split('.') as [string, string];
            return [name, readPushpinSetting(text, section, key)];
          },
        ),
      );
    const adaptUnder = (profile: PushpinProfileName, text = cliStyleConfig, version = '1.36.0') => adaptWithOptions(text, v(version), { profile });

    it("keeps the CLI's 8192-byte client buffer and 60 s id cache under fanout and turns its node-wide shaping off", () => {
      for (const version of ['1.36.0', '1.41.0']) {
        const adapted = adaptUnder('fanout', cliStyleConfig, version);
        expect(profileSettings(adapted.text), version).toEqual({
          'runner.client_buffer_size': '8192',
          'handler.message_rate': '0',
          'handler.message_hwm': '0',
          'handler.message_wait': '5000',
          'handler.id_cache_ttl': '60',
          'handler.connection_subscription_max': '20',
          'handler.subscription_linger': '60',
        });
        expect(adapted.changes.filter((c) => /Pushpin profile/.test(c)), version).toEqual([
          '[handler] for Pushpin profile fanout: message_rate 2500 -> 0, message_hwm 25000 -> 0',
        ]);
      }
      // No buffer setting at all: written out, though Pushpin's default is the same.
      const unset = cliStyleConfig.replace('client_buffer_size=8192\n', '');
      expect(readPushpinSetting(adaptUnder('fanout', unset).text, 'runner', 'client_buffer_size')).toBe('8192');
    });

    it("leaves the CLI's delivery settings alone under fanout-node (they are Fastly's), and replaces them under gentle", () => {
      expect(adaptUnder('fanout-node', cliStyleConfig, '1.41.0').changes.filter((c) => /Pushpin profile/.test(c))).toEqual([]);
      expect(profileSettings(adaptUnder('fanout-node').text)).toMatchObject({
        'runner.client_buffer_size': '8192',
        'handler.message_rate': '2500',
        'handler.message_hwm': '25000',
        'handler.id_cache_ttl': '60',
      });
      expect(profileSettings(adaptUnder('gentle').text)).toMatchObject({
        'runner.client_buffer_size': '262144',
        'handler.message_rate': '0',
        'handler.message_hwm': '200000',
        'handler.id_cache_ttl': '0',
      });
    });

    it('sets every setting to the profile\'s, whatever the config had, and adds the ones it lacks where they belong', () => {
      const other = cliStyleConfig
        .replace('client_buffer_size=8192', 'client_buffer_size=1048576')
        .replace('connection_subscription_max=20', 'connection_subscription_max=5')
        .replace('subscription_linger=60\n', '');
      const adapted = adaptUnder('fanout', other, '1.41.0');
      expect(profileSettings(adapted.text)).toEqual(profileSettings(adaptUnder('fanout', cliStyleConfig, '1.41.0').text));
      expect(adapted.changes.filter((c) => /Pushpin profile/.test(c))).toEqual([
        '[runner] for Pushpin profile fanout: client_buffer_size 1048576 -> 8192',
        '[handler] for Pushpin profile fanout: message_rate 2500 -> 0, message_hwm 25000 -> 0, connection_subscription_max 5 -> 20, subscription_linger (unset) -> 60',
      ]);
      const lines = adapted.text.split('\n');
      expect(lines.indexOf('subscription_linger=60')).toBe(lines.indexOf('connection_subscription_max=20') + 1);
    });

    it("brings the CLI's config to what the generator writes for each profile and version, and passes the generator's unchanged", () => {
      const input = { rundir: '/tmp/run', logdir: '/tmp/log', proxyPort: 7677, publishPort: 5561, backends: [] };
      for (const profile of ['fanout', 'fanout-node', 'gentle'] as const) {
        for (const version of ['1.36.0', '1.38.0', '1.41.0']) {
          const generated = buildPushpinConfig({ ...input, profile, version: v(version) }).config;
          expect(profileSettings(adaptUnder(profile, cliStyleConfig, version).text), `${profile} ${version}`).toEqual(profileSettings(generated));
          expect(adaptUnder(profile, generated, version), `${profile} ${version}`).toEqual({ text: generated, changes: [] });
        }
      }
    });

    it('uses the default profile when none is given', () => {
      expect(adaptWithOptions(cliStyleConfig, v('1.41.0'))).toEqual(adaptUnder(DEFAULT_PUSHPIN_PROFILE, cliStyleConfig, '1.41.0'));
    });
  });
});
