import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, readManifest, unsupportedSettingsWarning } from './fastlyManifest.ts';
import { PROJECT_ROOT } from './projectRoot.ts';

describe('fastly.toml settings the local stack does not support', () => {
  const manifest = parseManifest(`
[local_server]
viceroy_version = "0.14.0"
[local_server.backends.origin]
url = "http://127.0.0.1:3000"
cert_host = "origin.example"
use_sni = true
[local_server.kv_stores]
sessions = [{ key = "a", data = "1" }]
[local_server.secret_stores.keys]
file = "secrets.json"
format = "json"
[local_server.acls]
blocklist = "acl.json"
[local_server.geolocation]
format = "inline-toml"
[local_server.config_stores.edge_settings]
format = "inline-toml"
[local_server.config_stores.edge_settings.contents]
realtime_paths = "/events/"
[local_server.pushpin]
enable = true
[local_server.typo_stores]
x = 1
`);

  it('lists each by its dotted name, backend keys included, and nothing the stack reads', () => {
    expect(manifest.unsupported).toEqual([
      'local_server.kv_stores',
      'local_server.secret_stores',
      'local_server.acls',
      'local_server.geolocation',
      'local_server.typo_stores',
      'local_server.backends.origin.cert_host',
      'local_server.backends.origin.use_sni',
    ]);
  });

  it('names them in one warning, and stays quiet for a manifest without any', () => {
    const warning = unsupportedSettingsWarning(manifest, 'app/fastly.toml');
    expect(warning).toMatch(/^warning: app\/fastly\.toml has settings the local stack does not support and ignores: local_server\.kv_stores, local_server\.secret_stores, local_server\.acls/);
    expect(warning).toContain('local_server.backends.origin.use_sni');
    expect(unsupportedSettingsWarning(parseManifest('[local_server.backends.origin]\nurl = "http://127.0.0.1:3000"\n'))).toBeUndefined();
  });

  it("this repository's fastly.toml has none", () => {
    expect(readManifest(join(PROJECT_ROOT, 'fastly.toml')).unsupported).toEqual([]);
  });

  it('resolves pushpin_path against the manifest directory, as the CLI does from the project directory', () => {
    expect(parseManifest('[local_server.pushpin]\npushpin_path = "bin/pushpin"\n', '/srv/app').pushpin.pushpinPath).toBe('/srv/app/bin/pushpin');
    expect(parseManifest('[local_server.pushpin]\npushpin_path = "/usr/bin/pushpin"\n', '/srv/app').pushpin.pushpinPath).toBe('/usr/bin/pushpin');
    expect(parseManifest('[local_server.pushpin]\npushpin_path = ""\n').pushpin.pushpinPath).toBeUndefined();
  });
});
