// `npm run serve` from the repository: the real Fastly CLI (`fastly compute serve`, @fastly/cli) on free
// ports, with the local Compute host as Viceroy (none is installed here) and Debian's Pushpin 1.36
// through fastly.toml's pushpin_path wrapper (test/harness/fastlyServe.ts starts it). A message
// published through the origin reaches an SSE client through the edge; every process stops with it: on
// Ctrl-C, when the CLI is killed, when `npm run serve` itself is killed. And with a Pushpin 1.40+ the
// wrapper hands the CLI's own config over with only the proxy on loopback and the profile's settings
// (gentle: the larger client buffer; fanout: the CLI's 8 KiB kept, Fanout's id cache added), a stand-in
// binary playing that Pushpin (none can be installed here). The 1000-message burst through the CLI's
// Pushpin, which loads the machine, is fastlyServeBurst.e2e.test.ts.
//
// Each case runs its own `npm run serve` (its own ports, processes and marker) and changes nothing
// another reads, so the cases of a group run at once: two groups, so that at most four runs (two of
// them without a real Pushpin) start together on this 2-core machine beside other test files.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { nonLoopbackAddress, tryConnect } from '../harness/listenAddress.ts';
import { allGone, pidOf, processesOf, publishToServe, SERVE_READY_TIMEOUT_MS, SERVE_STOP_TIMEOUT_MS, SERVE_TEST_TIMEOUT_MS, startServe, waitForEdge } from '../harness/fastlyServe.ts';
import { recordSse } from '../harness/sseClient.ts';

const work = mkdtempSync(join(tmpdir(), 'fastly-serve-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A stand-in Pushpin 1.41 in a directory of its own: records how it was run (`record`, and the config
 * it was given in `record`.conf), says "started" as Pushpin does, then waits.
 */
function standInPushpin(name: string): { binary: string; record: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  const binary = join(dir, 'pushpin');
  const record = join(dir, 'pushpin-1.41-record');
  writeFileSync(
    binary,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pushpin 1.41.0"; exit 0; fi\n` +
      `for a do echo "$a"; done > '${record}'\n` +
      `for a do case $a in --config=*) cat "\${a#--config=}" > '${record}.conf' ;; esac; done\n` +
      `echo "[INFO] 2026-01-01 00:00:00.000 started"\nexec sleep 300\n`,
  );
  chmodSync(binary, 0o755);
  return { binary, record };
}

describe('npm run serve (fastly compute serve) with Debian Pushpin and the local Compute host', () => {
  describe.concurrent('serving, and stopping however it is stopped', () => {
    it("serves the edge; a message published through the origin reaches an SSE client through the edge; kill -INT to npm alone stops it all (the script is exec'd, so npm passes it to the launcher)", async ({ expect, onTestFinished }) => {
      const serve = await startServe({ onTestFinished });
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
        const response = await publishToServe(serve, { channel: 'serve-news', data: { text: 'through the edge' } });
        expect(response.status).toBe(200);
        const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
        const [event] = await client.waitFor(1, 20_000);
        expect(event).toEqual({ id: messages[0]!.id, data: expect.objectContaining({ channel: 'serve-news', data: { text: 'through the edge' } }) });
      } finally {
        client.close();
      }

      // SIGINT to npm alone (Ctrl-C to the whole group ends the burst case and the 1.41 cases).
      process.kill(serve.child.pid!, 'SIGINT');
      const stopMs = await allGone(serve.marker);
      console.log(`npm run serve: every process gone ${(stopMs / 1000).toFixed(1)} s after SIGINT to npm`);
      expect(serve.output()).toContain('Local server stopped');
    }, SERVE_TEST_TIMEOUT_MS);

    it('stops Pushpin, the edge and the origin when the CLI is killed', async ({ expect, onTestFinished }) => {
      const serve = await startServe({ onTestFinished });
      await waitForEdge(serve);
      const before = processesOf(serve.marker).length;
      process.kill(pidOf(serve, /\/fastly compute serve /), 'SIGKILL');
      const stopMs = await allGone(serve.marker);
      console.log(`npm run serve: ${before} processes gone ${(stopMs / 1000).toFixed(1)} s after the CLI was killed`);
      expect(await serve.exited).not.toBe(0);
      await expect(fetch(`http://127.0.0.1:${serve.ports.origin}/healthz`)).rejects.toThrow();
    }, SERVE_TEST_TIMEOUT_MS);

    it('stops the CLI, its Pushpin and the edge when the origin dies, and says why', async ({ expect, onTestFinished }) => {
      const serve = await startServe({ onTestFinished });
      await waitForEdge(serve);
      process.kill(pidOf(serve, /origin\/server\.ts$/), 'SIGKILL');
      await allGone(serve.marker);
      expect(serve.output()).toMatch(/npm run serve: the origin exited \(SIGKILL\); stopping/);
      expect(await serve.exited).not.toBe(0);
    }, SERVE_TEST_TIMEOUT_MS);
  });

  // A plain describe around the second group: vitest runs consecutive concurrent suites at once too.
  describe('then', () => {
    describe.concurrent('when npm run serve is killed, and with a Pushpin 1.40+', () => {
      it.for(['launcher', 'npm'] as const)('stops everything when npm run serve itself is killed: the %s', { timeout: SERVE_READY_TIMEOUT_MS + SERVE_STOP_TIMEOUT_MS }, async (victim, { expect, onTestFinished }) => {
        const serve = await startServe({ onTestFinished });
        await waitForEdge(serve);
        process.kill(victim === 'npm' ? serve.child.pid! : pidOf(serve, /^\S*node --import tsx scripts\/serve\.ts /), 'SIGKILL');
        const stopMs = await allGone(serve.marker);
        console.log(`npm run serve: every process gone ${(stopMs / 1000).toFixed(1)} s after the ${victim} was killed`);
        await expect(fetch(`http://127.0.0.1:${serve.ports.edge}/healthz`)).rejects.toThrow();
      });

      it("hands a Pushpin 1.40+ the CLI's config and arguments with only the proxy on loopback and the Pushpin profile's settings (gentle)", async ({ expect, onTestFinished }) => {
        const { binary, record } = standInPushpin('gentle');
        const serve = await startServe({ onTestFinished }, { PUSHPIN_PATH: binary, PUSHPIN_PROFILE: 'gentle' });
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
        await allGone(serve.marker);
        expect(existsSync(copy![1]!)).toBe(false);
      }, SERVE_TEST_TIMEOUT_MS);

      it("hands a Pushpin 1.40+ the CLI's config under PUSHPIN_PROFILE=fanout (passed on by npm and the CLI): the CLI's 8 KiB buffer and 60 s id cache kept, its shaping turned off", async ({ expect, onTestFinished }) => {
        const { binary, record } = standInPushpin('fanout');
        const fanout = await startServe({ onTestFinished }, { PUSHPIN_PATH: binary, PUSHPIN_PROFILE: 'fanout' });
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
        await allGone(fanout.marker);
      }, SERVE_TEST_TIMEOUT_MS);
    });
  });
});
