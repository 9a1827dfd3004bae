// What a guest sees on the local Compute host, with a probe guest built from test/fixtures: a pristine
// instance per request, the FASTLY_* environment, config stores and dictionaries from the manifest,
// geolocation, logging, request bodies, and a body the guest streams with timers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagedProcess, type ManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const dir = mkdtempSync(join(tmpdir(), 'compute-host-probe-'));
let host: ManagedProcess;
let url: string;

beforeAll(async () => {
  const wasm = join(dir, 'probe.wasm');
  execFileSync(join(PROJECT_ROOT, 'node_modules/.bin/js-compute-runtime'), [join(PROJECT_ROOT, 'test/fixtures/probeGuest.js'), wasm], {
    stdio: 'pipe',
  });
  const manifest = join(dir, 'fastly.toml');
  writeFileSync(
    manifest,
    [
      '[local_server.config_stores.probe_settings]',
      'format = "inline-toml"',
      '[local_server.config_stores.probe_settings.contents]',
      'greeting = "hello from fastly.toml"',
      '[local_server.dictionaries.probe_dictionary]',
      'format = "inline-toml"',
      '[local_server.dictionaries.probe_dictionary.contents]',
      'colour = "teal"',
    ].join('\n'),
  );
  const port = await findFreePort();
  host = await startManagedProcess({
    name: 'compute-host',
    command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
    args: ['-v', '-C', manifest, '--addr', `127.0.0.1:${port}`, wasm],
    env: { ...process.env, FASTLY_POP: 'LHR', FASTLY_SERVICE_VERSION: '42' },
    ready: /Listening on http/,
    readyTimeoutMs: 30_000,
  });
  url = `http://127.0.0.1:${port}`;
}, 120_000);
afterAll(async () => {
  await host?.stop();
});

interface Probe {
  count: number;
  pop: string;
  serviceVersion: string;
  traceId: string;
  setting: string | null;
  missingSetting: string | null;
  dictionary: string | null;
  city: string | null;
  client: string;
}

describe('a guest on the local Compute host', () => {
  it('starts every request from a pristine instance (module state never carries over)', async () => {
    const probes: Probe[] = [];
    for (let i = 0; i < 12; i++) probes.push((await (await fetch(`${url}/probe`)).json()) as Probe);
    probes.push(...((await Promise.all(Array.from({ length: 12 }, () => fetch(`${url}/probe`).then((r) => r.json())))) as Probe[]));
    expect(probes.map((p) => p.count)).toEqual(probes.map(() => 1));
    expect(new Set(probes.map((p) => p.traceId)).size).toBe(probes.length);
  });

  it('sees the FASTLY_* environment, config stores, dictionaries, geolocation and its client address', async () => {
    const probe = (await (await fetch(`${url}/probe`)).json()) as Probe;
    expect(probe).toMatchObject({
      pop: 'LHR',
      serviceVersion: '42',
      setting: 'hello from fastly.toml',
      missingSetting: null,
      dictionary: 'teal',
      city: 'San Francisco',
      client: '127.0.0.1',
    });
    expect(probe.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('streams a body the guest produces over time', async () => {
    const started = performance.now();
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstAt = performance.now() - started;
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const restAt = performance.now() - started;
    expect(new TextDecoder().decode(first.value)).toBe('first\n');
    expect(rest).toBe('second\n');
    // The second part waits for a 300 ms guest timer; the first must not wait for it.
    expect(restAt - firstAt).toBeGreaterThanOrEqual(250);
  });

  it('reads request bodies, small and large', async () => {
    expect(await (await fetch(`${url}/echo`, { method: 'POST', body: 'abc' })).text()).toBe('POST 3 abc');
    const big = 'x'.repeat(3 * 1024 * 1024);
    expect(await (await fetch(`${url}/echo`, { method: 'PUT', body: big })).text()).toBe(`PUT ${big.length} ${'x'.repeat(20)}`);
  });

  it('prints log endpoint lines and console output to the host log', async () => {
    expect(await (await fetch(`${url}/log`)).text()).toBe('logged');
    const deadline = Date.now() + 5000;
    while (!/probe_log :: hello from the guest/.test(host.recentOutput()) || !/console line from the guest/.test(host.recentOutput())) {
      if (Date.now() > deadline) throw new Error(`log lines missing:\n${host.recentOutput()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
