// The local Compute host's clear failures, through its command line: a missing or invalid wasm, a
// guest trap (500, logged, the host keeps serving), an unknown backend, a handoff without Pushpin; and
// `fastly compute serve --viceroy-path` running the edge on it.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { EDGE_WASM } from '../../scripts/compute-host/edgeBuild.ts';
import { startManagedProcess, type ManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const HOST = join(PROJECT_ROOT, 'scripts/compute-host/viceroy');
const dir = mkdtempSync(join(tmpdir(), 'compute-host-errors-'));

/** A core module exporting memory and a _start that traps at once (`unreachable`). */
const TRAPPING_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
  0x03, 0x02, 0x01, 0x00, // function section
  0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one page
  0x07, 0x13, 0x02, 0x06, ...Buffer.from('memory'), 0x02, 0x00, 0x06, ...Buffer.from('_start'), 0x00, 0x00, // exports
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable
]);

function manifest(name: string, backends: Record<string, string>): string {
  const path = join(dir, name);
  writeFileSync(path, Object.entries(backends).map(([n, url]) => `[local_server.backends.${n}]\nurl = "${url}"\n`).join(''));
  return path;
}

const running: ManagedProcess[] = [];
afterEach(async () => {
  for (const host of running.splice(0)) await host.stop();
});

async function startHost(args: string[]): Promise<{ url: string; host: ManagedProcess }> {
  const port = await findFreePort();
  const host = await startManagedProcess({
    name: 'compute-host',
    command: HOST,
    args: ['-v', '--addr', `127.0.0.1:${port}`, ...args],
    ready: /Listening on http/,
    readyTimeoutMs: 30_000,
  });
  running.push(host);
  return { url: `http://127.0.0.1:${port}`, host };
}

async function waitForOutput(host: ManagedProcess, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pattern.test(host.recentOutput())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${host.recentOutput()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the compute host refuses to start', () => {
  const run = (args: string[]): Promise<{ code: number; stderr: string }> =>
    promisify(execFile)(HOST, args).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );

  it('without the wasm file, naming it and how to build it', async () => {
    const result = await run(['-C', manifest('none.toml', {}), join(dir, 'missing.wasm')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read the wasm module .*missing\.wasm.*npm run build/);
  });

  it('with a file that is not WebAssembly', async () => {
    const bogus = join(dir, 'bogus.wasm');
    writeFileSync(bogus, 'not wasm at all');
    const result = await run(['-C', manifest('none.toml', {}), bogus]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not a valid WebAssembly module/);
  });

  it('prints a version for `fastly compute serve`', async () => {
    const { stdout } = await promisify(execFile)(HOST, ['--version']);
    expect(stdout).toMatch(/^viceroy \d+\.\d+\.\d+/);
  });
});

describe('the Fastly CLI', () => {
  it('runs the edge on this host with `fastly compute serve --viceroy-path`', async () => {
    const backend = createServer((req, res) => res.end(`from the backend: ${req.url}`));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
    try {
      // A project directory like this one, with Pushpin off (the CLI's Pushpin config needs Pushpin 1.39+).
      const project = mkdtempSync(join(tmpdir(), 'compute-serve-'));
      mkdirSync(join(project, 'bin'));
      symlinkSync(EDGE_WASM, join(project, 'bin', 'main.wasm'));
      const { port: backendPort } = backend.address() as AddressInfo;
      const toml = readFileSync(join(PROJECT_ROOT, 'fastly.toml'), 'utf8')
        .replace('enable = true', 'enable = false')
        .replaceAll('127.0.0.1:3000', `127.0.0.1:${backendPort}`);
      writeFileSync(join(project, 'fastly.toml'), toml);
      const port = await findFreePort();
      const serve = await startManagedProcess({
        name: 'fastly compute serve',
        command: join(PROJECT_ROOT, 'node_modules/.bin/fastly'),
        args: ['compute', 'serve', '--skip-build', `--viceroy-path=${HOST}`, `--addr=127.0.0.1:${port}`],
        cwd: project,
        ready: /Listening on http/,
        readyTimeoutMs: 60_000,
      });
      running.push(serve);
      const response = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(await response.text()).toBe('from the backend: /hello');
    } finally {
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });
});

describe('the compute host at run time', () => {
  it('answers 500 when the guest traps, logs the trap, and keeps serving', async () => {
    const wasm = join(dir, 'trap.wasm');
    writeFileSync(wasm, TRAPPING_WASM);
    const { url, host } = await startHost(['-C', manifest('none.toml', {}), wasm]);
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${url}/boom/${i}`);
      expect(response.status).toBe(500);
      expect(await response.text()).toMatch(/unreachable/);
    }
    await waitForOutput(host, /guest trapped: RuntimeError: unreachable/);
  });

  it('logs an unknown backend name and answers with an error, not a hang', async () => {
    const { url, host } = await startHost(['-C', manifest('other.toml', { other: 'http://127.0.0.1:9' }), EDGE_WASM]);
    const response = await fetch(`${url}/page`);
    expect(response.status).toBeGreaterThanOrEqual(500);
    await waitForOutput(host, /unknown backend "origin" \(known: other\)/);
  });

  it('answers a Fanout handoff with 500 when no Pushpin port was given, as Viceroy does', async () => {
    const { url } = await startHost(['-C', manifest('origin.toml', { origin: 'http://127.0.0.1:9' }), EDGE_WASM]);
    const response = await fetch(`${url}/events/news`);
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/Pushpin handoff signaled, but Pushpin mode not enabled/);
  });
});
