// What a guest sees on the local Compute host, with a probe guest built from test/fixtures: a pristine
// instance per request, the FASTLY_* environment, config stores and dictionaries from the manifest,
// geolocation, logging, request bodies, and a body the guest streams part by part.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagedProcess, type ManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const dir = mkdtempSync(join(tmpdir(), 'compute-host-probe-'));
let host: ManagedProcess;
let url: string;
// The guest's `gate` backend: holds each request until the test releases it.
let gate: Server;
const held: ServerResponse[] = [];

beforeAll(async () => {
  const wasm = join(dir, 'probe.wasm');
  execFileSync(join(PROJECT_ROOT, 'node_modules/.bin/js-compute-runtime'), [join(PROJECT_ROOT, 'test/fixtures/probeGuest.js'), wasm], {
    stdio: 'pipe',
  });
  gate = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  const manifest = join(dir, 'fastly.toml');
  writeFileSync(
    manifest,
    [
      '[local_server.backends.gate]',
      `url = "http://127.0.0.1:${(gate.address() as AddressInfo).port}"`,
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
  for (const res of held) res.destroy();
  gate?.close();
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

  it('streams a body the guest produces over time: the first part arrives while the second cannot exist yet', async () => {
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('first\n');
    // The guest makes its second part from the gate's answer, which is not given until now.
    const deadline = Date.now() + 10_000;
    while (held.length === 0) {
      if (Date.now() > deadline) throw new Error('the guest never called its gate backend');
      await new Promise((r) => setTimeout(r, 10));
    }
    held.shift()!.end('second\n');
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('second\n');
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
