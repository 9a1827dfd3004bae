// `npm run serve` from the repository: the real Fastly CLI (`fastly compute serve`, @fastly/cli) on free
// ports, with the local Compute host as Viceroy (none is installed here) and Debian's Pushpin 1.36
// through fastly.toml's pushpin_path wrapper. A message published through the origin reaches an SSE
// client through the edge; every process stops with it: on Ctrl-C, when the CLI is killed, when
// `npm run serve` itself is killed. The wrapper's rules hold for what the CLI runs: under the gentle
// Pushpin profile a 1000-message burst reaches every transport whole, and zurl runs with the raised
// limits (that those limits take 3,500 requests in progress at once is pushpinBurst.e2e.test.ts's: the
// same ZURL_LIMITS template, so the burst is not repeated here). And with a Pushpin 1.40+ the wrapper hands the CLI's own config over with
// only the proxy on loopback and the profile's settings (gentle: the larger client buffer; fanout: the
// CLI's 8 KiB kept, Fanout's id cache added), a stand-in binary playing that Pushpin (none can be
// installed here).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { subscribeEvery } from '../harness/everyTransport.ts';
import { nonLoopbackAddress, tryConnect } from '../harness/listenAddress.ts';
import { recordSse } from '../harness/sseClient.ts';

const MARKER = 'FANOUT_FORWARD_SERVE_TEST';
const PUBLISH_TOKEN = 'serve-test-token';
const READY_TIMEOUT_MS = 120_000;
/** Generous: the CLI waits for Viceroy, then kills Pushpin's tree; the origin takes up to 3 s. */
const STOP_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = READY_TIMEOUT_MS + STOP_TIMEOUT_MS + 30_000;

const work = mkdtempSync(join(tmpdir(), 'fastly-serve-test-'));

interface Serve {
  child: ChildProcess;
  marker: string;
  manifestPath: string;
  manifestText: string;
  ports: { edge: number; origin: number; proxy: number; publish: number };
  output(): string;
  exited: Promise<number | string>;
}

const running: Serve[] = [];

/** Live processes started for this run of `npm run serve` (they all inherit its marker). */
function processesOf(marker: string): Array<{ pid: number; command: string }> {
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

async function allGone(marker: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (processesOf(marker).length > 0) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`still running after ${timeoutMs} ms:\n${processesOf(marker).map((p) => `${p.pid} ${p.command}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

/** `backends`: more [local_server.backends] beside the origin (the CLI writes a route for each). */
async function startServe(env: Record<string, string> = {}): Promise<Serve> {
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
    env: { ...process.env, [MARKER]: marker, PUBLISH_TOKEN, LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const serve: Serve = { child, marker, manifestPath, manifestText, ports, output: () => output, exited };
  running.push(serve);
  return serve;
}

async function waitForEdge(serve: Serve): Promise<number> {
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
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`the edge did not answer within ${READY_TIMEOUT_MS} ms:\n${serve.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The zurl.conf the runner rendered for the CLI's Pushpin (from zurl's `--config`). */
function renderedZurlConfig(serve: Serve): { path: string; text: string } {
  const zurl = processesOf(serve.marker).find((p) => p.command.startsWith('/usr/bin/zurl '));
  const path = /--config[= ](\S+)/.exec(zurl?.command ?? '')?.[1];
  if (!path) throw new Error(`no zurl with a --config among:\n${processesOf(serve.marker).map((p) => p.command).join('\n')}`);
  return { path, text: readFileSync(path, 'utf8') };
}

function pidOf(serve: Serve, pattern: RegExp): number {
  const found = processesOf(serve.marker).find((p) => pattern.test(p.command));
  if (!found) throw new Error(`no process matching ${pattern}:\n${processesOf(serve.marker).map((p) => p.command).join('\n')}`);
  return found.pid;
}

/** What the CLI leaves in the temp dir when it is killed before its own clean-up (named in the wrapper's line). */
function removeCliTempFiles(serve: Serve): void {
  for (const [, id] of serve.output().matchAll(/\/pushpin-([0-9a-f]{8})\//g)) {
    for (const path of [`pushpin-${id}`, `pushpin-${id}.conf`, `pushpin-routes-${id}`]) rmSync(join(tmpdir(), path), { recursive: true, force: true });
  }
}

afterEach(async () => {
  for (const serve of running.splice(0)) {
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
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run serve (fastly compute serve) with Debian Pushpin and the local Compute host', () => {
  it("serves the edge; a message published through the origin reaches an SSE client through the edge; kill -INT to npm alone stops it all (the script is exec'd, so npm passes it to the launcher)", async () => {
    const serve = await startServe();
    const readyMs = await waitForEdge(serve);
    console.log(`npm run serve: edge answering after ${(readyMs / 1000).toFixed(1)} s (--skip-build)`);
    const output = serve.output();
    expect(output).toMatch(/npm run serve: Viceroy: none installed .* so the local Compute host/);
    expect(output).toMatch(/pushpin-wrapper: adapted the config for Pushpin 1\.36\.0/);
    expect(output).toContain('SUCCESS: Pushpin started.');
    // Pushpin 1.36's own services, started by the runner the CLI ran through the wrapper.
    const commands = processesOf(serve.marker).map((p) => p.command);
    for (const service of ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler']) {
      expect(commands.some((c) => c.startsWith(`/usr/bin/${service} `)), service).toBe(true);
    }
    // The CLI's `http_port=<port>` (every interface) made loopback-only by the wrapper.
    expect(commands).toContainEqual(expect.stringContaining(` --listen=127.0.0.1:${serve.ports.proxy},stream `));
    const address = nonLoopbackAddress();
    if (address === undefined) console.warn("skipped: no non-loopback IPv4 address here to check that Pushpin's proxy refuses");
    else expect(await tryConnect(address, serve.ports.proxy), `Pushpin's proxy at ${address}`).toBe('ECONNREFUSED');

    const client = recordSse(`http://127.0.0.1:${serve.ports.edge}/events/serve-news`);
    try {
      await client.opened;
      const response = await fetch(`http://127.0.0.1:${serve.ports.origin}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'serve-news', data: { text: 'through the edge' } }),
      });
      expect(response.status).toBe(200);
      const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
      const [event] = await client.waitFor(1, 20_000);
      expect(event).toEqual({ id: messages[0]!.id, data: expect.objectContaining({ channel: 'serve-news', data: { text: 'through the edge' } }) });
    } finally {
      client.close();
    }

    // SIGINT to npm alone (Ctrl-C to the whole group is the next case's ending).
    process.kill(serve.child.pid!, 'SIGINT');
    const stopMs = await allGone(serve.marker, STOP_TIMEOUT_MS);
    console.log(`npm run serve: every process gone ${(stopMs / 1000).toFixed(1)} s after SIGINT to npm`);
    expect(serve.output()).toContain('Local server stopped');
  }, TEST_TIMEOUT_MS);

  it("delivers a 1000-message burst whole to every transport through the CLI's Pushpin (the wrapper's client buffer and 1.36 catch-all route), runs zurl with the raised limits; Ctrl-C stops it all", async () => {
    // Under the gentle Pushpin profile, whose 256 KiB client buffer the burst needs (with Fanout's 8 KiB a
    // WebSocket burst is partly dropped, and only a client that resumes gets it whole).
    const serve = await startServe({ PUSHPIN_PROFILE: 'gentle' });
    await waitForEdge(serve);
    expect(serve.output()).toMatch(
      // The CLI writes Pushpin's example delivery settings (2500/s, 25000 queued, 60 s id cache): gentle's replace them.
      /pushpin-wrapper: adapted the config for Pushpin 1\.36\.0, Pushpin profile gentle \(.*\[runner\] for Pushpin profile gentle: client_buffer_size 8192 -> 262144; \[handler\] for Pushpin profile gentle: message_rate 2500 -> 0, message_hwm 25000 -> 200000, id_cache_ttl 60 -> 0; routes: added "\* 127\.0\.0\.1:\d+,over_http,host=127\.0\.0\.1:\d+"\)/,
    );
    // What Pushpin runs with: condure got the larger buffer.
    expect(processesOf(serve.marker).find((p) => p.command.startsWith('/usr/bin/condure '))?.command).toMatch(/--buffer-size=262144\b/);

    const channel = `serve-burst-${randomUUID().slice(0, 8)}`;
    // The CLI's Pushpin logs into the project's pushpin-logs/ (the channel name is this run's own).
    const subscribers = await subscribeEvery(`http://127.0.0.1:${serve.ports.edge}`, channel, join(PROJECT_ROOT, 'pushpin-logs', 'pushpin-handler.log'));
    try {
      const response = await fetch(`http://127.0.0.1:${serve.ports.origin}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items: Array.from({ length: 1000 }, (_, n) => ({ channel, data: { n, pad: 'x'.repeat(1000) } })) }),
      });
      expect(response.status, (await response.clone().text()).slice(0, 300)).toBe(200);
      const ids = ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
      const idsOf = (values: unknown[]): string[] => values.map((v) => (v as { id: string }).id);
      const wsMessages = (): unknown[] => subscribers.ws.frames.filter((f) => f.type === 'message');
      const deadline = Date.now() + 30_000;
      const done = (): boolean =>
        subscribers.sse.events.length >= 1000 && subscribers.ndjson.lines.length >= 1000 && wsMessages().length >= 1000 && subscribers.poll.messages.length >= 1000;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      expect(idsOf(wsMessages()), 'WebSocket').toEqual(ids);
      expect(subscribers.sse.events.map((e) => e.id), 'SSE').toEqual(ids);
      expect(idsOf(subscribers.ndjson.lines), 'NDJSON').toEqual(ids);
      expect(idsOf(subscribers.poll.messages), 'long-poll').toEqual(ids);
      expect(serve.output()).not.toMatch(/Exited unexpectedly/);
    } finally {
      subscribers.close();
    }

    // zurl with the package's limits refused 250-350 of 3,500 requests in progress at once (`502 Error
    // while proxying to origin.`); with ZURL_LIMITS none (pushpinBurst.e2e.test.ts).
    // zurl runs from our template, in a libdir inside the CLI's run directory, with the raised limits.
    expect(serve.output()).toMatch(/\[global\] libdir=\/\S+\.pushpin-1\.36\.0\.lib \(added: zurl's own template, max_open_requests=50000, in_hwm=50000, out_hwm=50000\)/);
    const libdir = /\[global\] libdir=(\S+)/.exec(serve.output())![1]!;
    const zurl = renderedZurlConfig(serve);
    for (const setting of ['max_open_requests=50000', 'in_hwm=50000', 'out_hwm=50000']) expect(zurl.text, zurl.path).toMatch(new RegExp(`^${setting}$`, 'm'));

    // Ctrl-C: the terminal signals the foreground group (npm, the launcher); the launcher forwards it.
    process.kill(-serve.child.pid!, 'SIGINT');
    const stopMs = await allGone(serve.marker, STOP_TIMEOUT_MS);
    console.log(`npm run serve: every process gone ${(stopMs / 1000).toFixed(1)} s after Ctrl-C`);
    expect(serve.output()).toContain('Local server stopped');
    // The CLI did not touch the manifest it served.
    expect(readFileSync(serve.manifestPath, 'utf8')).toBe(serve.manifestText);
    // The CLI deletes its run directory when it stops Pushpin, our libdir with it.
    expect(dirname(libdir)).toMatch(new RegExp(`^${tmpdir()}/pushpin-[0-9a-f]{8}$`));
    expect(existsSync(dirname(libdir))).toBe(false);
  }, TEST_TIMEOUT_MS);

  it('stops Pushpin, the edge and the origin when the CLI is killed', async () => {
    const serve = await startServe();
    await waitForEdge(serve);
    const before = processesOf(serve.marker).length;
    process.kill(pidOf(serve, /\/fastly compute serve /), 'SIGKILL');
    const stopMs = await allGone(serve.marker, STOP_TIMEOUT_MS);
    console.log(`npm run serve: ${before} processes gone ${(stopMs / 1000).toFixed(1)} s after the CLI was killed`);
    expect(await serve.exited).not.toBe(0);
    await expect(fetch(`http://127.0.0.1:${serve.ports.origin}/healthz`)).rejects.toThrow();
  }, TEST_TIMEOUT_MS);

  it('stops the CLI, its Pushpin and the edge when the origin dies, and says why', async () => {
    const serve = await startServe();
    await waitForEdge(serve);
    process.kill(pidOf(serve, /origin\/server\.ts$/), 'SIGKILL');
    await allGone(serve.marker, STOP_TIMEOUT_MS);
    expect(serve.output()).toMatch(/npm run serve: the origin exited \(SIGKILL\); stopping/);
    expect(await serve.exited).not.toBe(0);
  }, TEST_TIMEOUT_MS);

  it('stops everything when npm run serve itself is killed: the launcher, or npm above it', async () => {
    for (const victim of ['launcher', 'npm'] as const) {
      const serve = await startServe();
      await waitForEdge(serve);
      process.kill(victim === 'npm' ? serve.child.pid! : pidOf(serve, /^\S*node --import tsx scripts\/serve\.ts /), 'SIGKILL');
      const stopMs = await allGone(serve.marker, STOP_TIMEOUT_MS);
      console.log(`npm run serve: every process gone ${(stopMs / 1000).toFixed(1)} s after the ${victim} was killed`);
      await expect(fetch(`http://127.0.0.1:${serve.ports.edge}/healthz`)).rejects.toThrow();
    }
  }, 2 * (READY_TIMEOUT_MS + STOP_TIMEOUT_MS));

  it("hands a Pushpin 1.40+ the CLI's config and arguments with only the proxy on loopback and the Pushpin profile's settings", async () => {
    // A stand-in Pushpin 1.41: records how it was run, says "started" as Pushpin does, then waits.
    const binary = join(work, 'pushpin');
    const record = join(work, 'pushpin-1.41-record');
    writeFileSync(
      binary,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pushpin 1.41.0"; exit 0; fi\n` +
        `for a do echo "$a"; done > '${record}'\n` +
        `for a do case $a in --config=*) cat "\${a#--config=}" > '${record}.conf' ;; esac; done\n` +
        `echo "[INFO] 2026-01-01 00:00:00.000 started"\nexec sleep 300\n`,
    );
    chmodSync(binary, 0o755);
    const serve = await startServe({ PUSHPIN_PATH: binary, PUSHPIN_PROFILE: 'gentle' });
    await waitForEdge(serve);
    const args = readFileSync(record, 'utf8').trim().split('\n');
    expect(args).toHaveLength(2);
    // The adapted copy, in the CLI's own run directory (which the CLI deletes when it stops).
    const copy = new RegExp(`^--config=(${tmpdir()}/pushpin-([0-9a-f]{8}))/pushpin-\\2\\.pushpin-1\\.41\\.0\\.conf$`).exec(args[0]!);
    expect(copy, args[0]).not.toBeNull();
    expect(args[1]).toBe('--verbose');
    const config = readFileSync(`${record}.conf`, 'utf8');
    expect(config).toMatch(/^services=connmgr,proxy,handler$/m);
    expect(config).not.toMatch(/zurl_out_specs/);
    expect(config).toMatch(new RegExp(`^http_port=127\\.0\\.0\\.1:${serve.ports.proxy}$`, 'm'));
    expect(config).toMatch(/^client_buffer_size=262144$/m);
    expect(config).toMatch(/^id_cache_ttl=0$/m);
    // The CLI's own routes file: 1.41 needs no catch-all route.
    expect(config).toMatch(new RegExp(`^routesfile=${tmpdir()}/pushpin-routes-${copy![2]}$`, 'm'));
    expect(serve.output()).toMatch(
      /pushpin-wrapper: adapted the config for Pushpin 1\.41\.0, Pushpin profile gentle \(\[runner\] http_port: \d+ -> 127\.0\.0\.1:\d+ \(loopback only: [^)]*\); \[runner\] for Pushpin profile gentle: client_buffer_size 8192 -> 262144; \[handler\] for Pushpin profile gentle: message_rate 2500 -> 0, message_hwm 25000 -> 200000, id_cache_ttl 60 -> 0\)/,
    );
    process.kill(-serve.child.pid!, 'SIGINT');
    await allGone(serve.marker, STOP_TIMEOUT_MS);
    expect(existsSync(copy![1]!)).toBe(false);

    // Under PUSHPIN_PROFILE=fanout (passed on by npm and the CLI): the CLI's 8 KiB buffer and 60 s id
    // cache are kept, its shaping turned off.
    const fanout = await startServe({ PUSHPIN_PATH: binary, PUSHPIN_PROFILE: 'fanout' });
    await waitForEdge(fanout);
    const fanoutConfig = readFileSync(`${record}.conf`, 'utf8');
    expect(fanoutConfig).toMatch(/^client_buffer_size=8192$/m);
    expect(fanoutConfig).toMatch(/^id_cache_ttl=60$/m);
    expect(fanoutConfig).toMatch(/^message_rate=0$/m);
    expect(fanoutConfig).toMatch(/^message_hwm=0$/m);
    expect(fanout.output()).toMatch(/pushpin-wrapper: adapted the config for Pushpin 1\.41\.0, Pushpin profile fanout \(/);
    expect(fanout.output()).toMatch(/\[handler\] for Pushpin profile fanout: message_rate 2500 -> 0, message_hwm 25000 -> 0\)/);
    expect(fanout.output()).not.toMatch(/client_buffer_size 8192 ->/);
    process.kill(-fanout.child.pid!, 'SIGINT');
    await allGone(fanout.marker, STOP_TIMEOUT_MS);
  }, 2 * TEST_TIMEOUT_MS);
});
