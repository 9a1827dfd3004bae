// `npm run serve` from the repository, for the tests of the real Fastly CLI (`fastly compute serve`):
// its manifest a copy of fastly.toml (fastly.<env>.toml beside it, as the CLI's --env reads) with the
// origin on a free port, every port free, the whole run in its own process group, and every process it
// starts marked in its environment, so a test sees all of them (and kills what is left when it ends).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { TestContext } from 'vitest';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const MARKER = 'FANOUT_FORWARD_SERVE_TEST';
export const SERVE_PUBLISH_TOKEN = 'serve-test-token';
export const SERVE_READY_TIMEOUT_MS = 120_000;
/** Generous: the CLI waits for Viceroy, then kills Pushpin's tree; the origin takes up to 3 s. */
export const SERVE_STOP_TIMEOUT_MS = 30_000;
export const SERVE_TEST_TIMEOUT_MS = SERVE_READY_TIMEOUT_MS + SERVE_STOP_TIMEOUT_MS + 30_000;

export interface Serve {
  child: ChildProcess;
  marker: string;
  manifestPath: string;
  manifestText: string;
  ports: { edge: number; origin: number; proxy: number; publish: number };
  output(): string;
  exited: Promise<number | string>;
}

/** Live processes started for this run of `npm run serve` (they all inherit its marker). */
export function processesOf(marker: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${MARKER}=${marker}`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // exited, not yet reaped
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/** Polls until no process of the run is left; returns how long that took, throws after `timeoutMs`. */
export async function allGone(marker: string, timeoutMs = SERVE_STOP_TIMEOUT_MS): Promise<number> {
  const started = Date.now();
  while (processesOf(marker).length > 0) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`still running after ${timeoutMs} ms:\n${processesOf(marker).map((p) => `${p.pid} ${p.command}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/** What the CLI leaves in the temp dir when it is killed before its own clean-up (named in the wrapper's line). */
function removeCliTempFiles(serve: Serve): void {
  for (const [, id] of serve.output().matchAll(/\/pushpin-([0-9a-f]{8})\//g)) {
    for (const path of [`pushpin-${id}`, `pushpin-${id}.conf`, `pushpin-routes-${id}`]) rmSync(join(tmpdir(), path), { recursive: true, force: true });
  }
}

/** SIGKILLs whatever of the run is left and removes its files. */
function cleanUp(serve: Serve): void {
  for (const { pid } of processesOf(serve.marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  removeCliTempFiles(serve);
  rmSync(serve.manifestPath, { force: true });
}

/**
 * Starts `npm run serve` (the edge, the CLI's Pushpin, the origin) on free ports with `env` added; it is
 * cleaned up when the test of `context` finishes (the context's hook: right also for concurrent tests).
 */
export async function startServe(context: Pick<TestContext, 'onTestFinished'>, env: Record<string, string> = {}): Promise<Serve> {
  const ports = { edge: await findFreePort(), origin: await findFreePort(), proxy: await findFreePort(), publish: await findFreePortRange(4) };
  // The CLI's --env reads fastly.<env>.toml beside fastly.toml: the same manifest, the origin on a free port.
  const name = `serve-test-${randomUUID().slice(0, 8)}`;
  const manifest = parseToml(readFileSync(join(PROJECT_ROOT, 'fastly.toml'), 'utf8')) as {
    local_server: { backends: Record<string, { url: string; override_host: string }> };
  };
  manifest.local_server.backends.origin = { url: `http://127.0.0.1:${ports.origin}`, override_host: `127.0.0.1:${ports.origin}` };
  const manifestPath = join(PROJECT_ROOT, `fastly.${name}.toml`);
  const manifestText = stringifyToml(manifest);
  writeFileSync(manifestPath, manifestText);

  const marker = randomUUID();
  const args = [
    'run', 'serve', '--',
    `--env=${name}`,
    // bin/main.wasm is built by the test setup; a build here would rewrite it under other tests' feet.
    '--skip-build',
    `--addr=127.0.0.1:${ports.edge}`,
    `--pushpin-proxy-port=${ports.proxy}`,
    `--pushpin-publish-port=${ports.publish}`,
  ];
  // Its own process group, like a terminal's foreground job, so a Ctrl-C can be sent to all of it.
  const child = spawn('npm', args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [MARKER]: marker, PUBLISH_TOKEN: SERVE_PUBLISH_TOKEN, LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const serve: Serve = { child, marker, manifestPath, manifestText, ports, output: () => output, exited };
  context.onTestFinished(() => cleanUp(serve));
  return serve;
}

/** Polls the edge's /healthz until it answers 200; returns how long that took. */
export async function waitForEdge(serve: Serve): Promise<number> {
  const started = Date.now();
  let exited: number | string | undefined;
  void serve.exited.then((code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`npm run serve exited (${exited}) before the edge answered:\n${serve.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${serve.ports.edge}/healthz`, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not yet
    }
    if (Date.now() - started > SERVE_READY_TIMEOUT_MS) throw new Error(`the edge did not answer within ${SERVE_READY_TIMEOUT_MS} ms:\n${serve.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The pid of the run's process whose command line matches `pattern`. */
export function pidOf(serve: Serve, pattern: RegExp): number {
  const found = processesOf(serve.marker).find((p) => pattern.test(p.command));
  if (!found) throw new Error(`no process matching ${pattern}:\n${processesOf(serve.marker).map((p) => p.command).join('\n')}`);
  return found.pid;
}

/** Publishes through the run's origin (`body` as /api/publish takes it). */
export function publishToServe(serve: Serve, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${serve.ports.origin}/api/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SERVE_PUBLISH_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
