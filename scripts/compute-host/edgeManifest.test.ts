import { describe, expect, it } from 'vitest';
import { parseManifest } from '../stack/fastlyManifest.ts';
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
});
