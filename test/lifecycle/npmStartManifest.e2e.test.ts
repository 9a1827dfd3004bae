// `npm start` follows the manifest it is given as `fastly compute serve` does: `[local_server.pushpin]
// enable = false` runs no Pushpin (and says so, while the edge and the origin still run), and the
// settings the local stack does not support (KV and secret stores, ACLs, ...) are named in a warning at
// start instead of being skipped silently. Pushpin runs under the Pushpin profile it is given
// (--pushpin-profile, else PUSHPIN_PROFILE, else the default) and the banner names it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { readPushpinSetting } from '../../scripts/pushpin/pushpinConfigAdapter.ts';
import { commandOf, interruptNpmStart, startNpmStart, startNpmStartUp, type ManifestTable, type NpmStart } from '../harness/npmStart.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

const pushpinProcesses = (npm: NpmStart): string[] =>
  npm.tree().map(commandOf).filter((command) => /\/(pushpin|condure|zurl|pushpin-proxy|pushpin-handler) /.test(command));

// Each case runs an `npm start` of its own on its own ports: they run at once.
describe.concurrent('npm start and the manifest', () => {
  it('runs no Pushpin with [local_server.pushpin] enable = false, says so, and names the unsupported settings', async (context) => {
    const { expect } = context;
    const npm = await startNpmStartUp(context, {
      editManifest: (manifest) => {
        const localServer = manifest.local_server as ManifestTable;
        (localServer.pushpin as ManifestTable).enable = false;
        localServer.kv_stores = { sessions: [{ key: 'a', data: '1' }] };
        localServer.secret_stores = { keys: { file: 'secrets.json', format: 'json' } };
        localServer.acls = { blocklist: 'acl.json' };
      },
    });
    const output = npm.output();
    expect(output).toMatch(
      /npm start: warning: \S*fastly\.toml has settings the local stack does not support and ignores: local_server\.kv_stores, local_server\.secret_stores, local_server\.acls\b/,
    );
    // Once: the edge's own copy of the manifest leaves them out, so the host does not repeat it,
    // naming that copy (its log has what it would echo without --quiet).
    expect(output.match(/does not support and ignores/g)).toHaveLength(1);
    expect(readFileSync(join(npm.logDir, 'edge.log'), 'utf8')).not.toMatch(/does not support/);
    expect(output).toMatch(/npm start: Pushpin: off \(\[local_server\.pushpin\] enable is not true in \S*fastly\.toml; /);
    expect(pushpinProcesses(npm)).toEqual([]);

    // The edge and the origin run: the cache path works; a realtime request has no Fanout to go to.
    const health = await fetch(`${npm.urls.edge}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const realtime = await fetch(`${npm.urls.edge}/events/nobody`);
    await realtime.arrayBuffer();
    expect(realtime.status).toBe(500);
    // Ctrl-C: every process gone.
    expect((await interruptNpmStart(npm, 8000)).alive).toEqual([]);
  }, 120_000);

  it("runs Pushpin and prints no warning for this repository's fastly.toml", async (context) => {
    const { expect } = context;
    const npm = await startNpmStartUp(context);
    expect(npm.output()).not.toMatch(/does not support and ignores/);
    expect(npm.output()).not.toMatch(/Pushpin: off/);
    expect(pushpinProcesses(npm).length).toBeGreaterThanOrEqual(5);
    expect(npm.output()).toMatch(new RegExp(`^  Pushpin profile: +${TEST_PUSHPIN_PROFILE} +\\(`, 'm'));
    // Ctrl-C: every process gone.
    expect((await interruptNpmStart(npm, 8000)).alive).toEqual([]);
  }, 120_000);

  it('runs Pushpin under the profile --pushpin-profile names, over PUSHPIN_PROFILE, and says so', async (context) => {
    const { expect } = context;
    const npm = await startNpmStartUp(context, { args: ['--pushpin-profile', 'fanout'], env: { PUSHPIN_PROFILE: 'gentle' } });
    expect(npm.output()).toMatch(/^  Pushpin profile: +fanout +\(8 KiB client buffers, 60 s id cache, 20 subscriptions, no shaping; --pushpin-profile\)$/m);
    const commands = pushpinProcesses(npm);
    expect(commands.find((command) => /\/condure /.test(command))).toMatch(/--buffer-size=8192\b/);
    const configPath = /--config=(\S+)/.exec(commands.find((command) => /\/pushpin-handler /.test(command)) ?? '')?.[1];
    expect(configPath, commands.join('\n')).toBeDefined();
    const config = readFileSync(configPath!, 'utf8');
    expect(readPushpinSetting(config, 'handler', 'id_cache_ttl')).toBe('60');
    expect(readPushpinSetting(config, 'runner', 'client_buffer_size')).toBe('8192');
    // Ctrl-C: every process gone.
    expect((await interruptNpmStart(npm, 8000)).alive).toEqual([]);
  }, 120_000);

  it('refuses a profile it does not know before starting anything', async ({ expect, onTestFinished }) => {
    const npm = await startNpmStart({ args: ['--pushpin-profile', 'fastly'] });
    onTestFinished(() => npm.killAll([]));
    await npm.exited;
    expect(npm.output()).toMatch(/npm start: --pushpin-profile must be one of fanout, fanout-node, gentle, got "fastly"/);
    expect(npm.child.exitCode).toBe(2);
  }, 60_000);
});
