import { describe, expect, it } from 'vitest';
import { parseManifest } from '../shared/fastlyManifest.ts';
import { rewriteManifest } from './edgeManifest.ts';

const SOURCE = `
name = "app"
[local_server.backends.origin]
url = "http://127.0.0.1:3000"
override_host = "127.0.0.1:3000"
[local_server.config_stores.edge_settings]
format = "inline-toml"
[local_server.config_stores.edge_settings.contents]
realtime_paths = "/events/"
pop_backends = '{"default":"origin"}'
`;

describe('rewriteManifest', () => {
  it('points backends where this run put them, adds extra ones, and overrides config store entries', () => {
    const text = rewriteManifest(SOURCE, '/base', {
      backends: { origin: { url: 'http://127.0.0.1:4000', overrideHost: '127.0.0.1:4000' }, recorder: { url: 'http://127.0.0.1:5000' } },
      configStores: { edge_settings: { pop_backends: '{"default":"recorder"}' } },
    });
    const manifest = parseManifest(text);
    expect(manifest.backends.map((b) => [b.name, b.url.href, b.overrideHost])).toEqual([
      ['origin', 'http://127.0.0.1:4000/', '127.0.0.1:4000'],
      ['recorder', 'http://127.0.0.1:5000/', undefined],
    ]);
    expect(manifest.configStores.edge_settings).toEqual({ realtime_paths: '/events/', pop_backends: '{"default":"recorder"}' });
  });

  it('leaves out the settings it is told to, and nothing else', () => {
    const withExtras = `${SOURCE}\n[local_server.kv_stores]\nsessions = [{ key = "a", data = "1" }]\n[local_server.acls]\nblocklist = "acl.json"\n`;
    const before = parseManifest(withExtras);
    expect(before.unsupported).toEqual(['local_server.kv_stores', 'local_server.acls']);
    const text = rewriteManifest(withExtras, '/base', { backends: {}, omit: [...before.unsupported, 'local_server.no.such.table'] });
    const after = parseManifest(text);
    expect(after.unsupported).toEqual([]);
    expect(after.backends.map((b) => b.name)).toEqual(['origin']);
    expect(after.configStores).toEqual(before.configStores);
  });
});
