// The wrapper as the Fastly CLI runs it (the real shell script and its Node half). No Pushpin 1.38-1.41
// can be installed here, so the versions other than Debian's 1.36 are stand-in binaries that only record
// how they were started; the 1.36 path with the real Pushpin and the real CLI is test/lifecycle/fastlyServe.e2e.test.ts and fastlyServeBurst.e2e.test.ts.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifest } from '../shared/fastlyManifest.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { ensurePushpin, isPushpinWrapper, PUSHPIN_WRAPPER_PATH } from './ensurePushpin.ts';
import { readPushpinSetting } from './pushpinConfigAdapter.ts';
import { buildZurlTemplate, ZURL_TEMPLATE_PATH } from './zurlLibdir.ts';

const work = mkdtempSync(join(tmpdir(), 'pushpin-wrapper-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A stand-in `pushpin` of the given version that writes its pid, arguments and config file to `record`.
 * `installed`: laid out as a package, <prefix>/bin/pushpin beside <prefix>/lib/pushpin/internal.conf.
 */
function standInPushpin(version: string, layout: 'bare' | 'installed' = 'bare'): { binary: string; record: string; libdir: string } {
  const prefix = realpathSync(mkdtempSync(join(work, 'prefix-')));
  const dir = layout === 'installed' ? join(prefix, 'bin') : prefix;
  const libdir = join(prefix, 'lib', 'pushpin');
  if (layout === 'installed') {
    mkdirSync(dir);
    mkdirSync(libdir, { recursive: true });
    writeFileSync(join(libdir, 'internal.conf'), '[proxy]\n');
  }
  const binary = join(dir, 'pushpin');
  const record = join(dir, 'record');
  writeFileSync(
    binary,
    [
      '#!/bin/sh',
      `if [ "$1" = "--version" ]; then echo "pushpin ${version}"; exit 0; fi`,
      `{ echo "pid=$$"; for a do echo "arg=$a"; done; } > '${record}'`,
      'next=',
      'for a do',
      `  if [ -n "$next" ]; then cat "$a" > '${record}.conf'; next=; fi`,
      '  case $a in',
      `    --config=*) cat "\${a#--config=}" > '${record}.conf' ;;`,
      '    --config) next=1 ;;',
      '  esac',
      'done',
      '',
    ].join('\n'),
  );
  chmodSync(binary, 0o755);
  return { binary, record, libdir };
}

interface Run {
  code: number | null;
  pid: number;
  stderr: string;
}

/** Under the `gentle` Pushpin profile unless `env` names another (the shell's PUSHPIN_PROFILE is not used). */
function runWrapper(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(PUSHPIN_WRAPPER_PATH, args, { env: { ...process.env, PUSHPIN_PROFILE: 'gentle', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, pid: child.pid!, stderr }));
  });
}

function recorded(record: string): { pid: number; args: string[]; config: string } {
  const lines = readFileSync(record, 'utf8').trim().split('\n');
  return {
    pid: Number(lines[0]!.slice('pid='.length)),
    args: lines.slice(1).map((line) => line.slice('arg='.length)),
    config: readFileSync(`${record}.conf`, 'utf8'),
  };
}

const CLI_ROUTES = 'id=origin 127.0.0.1:3000,over_http,host=127.0.0.1:3000\n';

/** The delivery settings the Fastly CLI writes (Pushpin's example values), and `gentle`'s. */
const CLI_HANDLER = 'message_rate=2500\nmessage_hwm=25000\nmessage_wait=5000\nid_cache_ttl=60\nconnection_subscription_max=20\nsubscription_linger=60\n';
const GENTLE_HANDLER = 'message_rate=0\nmessage_hwm=200000\nmessage_wait=5000\nid_cache_ttl=0\nconnection_subscription_max=20\nsubscription_linger=60\n';

/**
 * A config shaped like the Fastly CLI's (Pushpin's 8 KiB client buffer and example delivery settings),
 * in its own temp dir, with an absolute rundir and a routes file.
 */
function cliStyleConfig(buffer = 8192, httpPort = '7677', handler = CLI_HANDLER): { path: string; rundir: string; routes: string; text: string } {
  const dir = mkdtempSync(join(work, 'cli-'));
  const rundir = join(dir, 'pushpin-1234abcd');
  const path = join(dir, 'pushpin-1234abcd.conf');
  const routes = join(dir, 'pushpin-routes-1234abcd');
  writeFileSync(routes, CLI_ROUTES);
  const text = `[global]\ninclude={libdir}/internal.conf\nrundir=${rundir}\n\n[runner]\nservices=connmgr,proxy,handler\nhttp_port=${httpPort}\nclient_buffer_size=${buffer}\n\n[proxy]\nroutesfile=${routes}\naccept_pushpin_route=true\n\n[handler]\n${handler}`;
  writeFileSync(path, text);
  return { path, rundir, routes, text };
}

describe('scripts/pushpin/pushpin-wrapper', () => {
  it('execs a 1.40+ Pushpin with the same arguments and the config untouched when it needs nothing', async () => {
    const pushpin = standInPushpin('1.41.0');
    const config = cliStyleConfig(262144, '127.0.0.1:7677', GENTLE_HANDLER);
    const run = await runWrapper([`--config=${config.path}`, '--verbose'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code, run.stderr).toBe(0);
    const seen = recorded(pushpin.record);
    expect(seen.pid).toBe(run.pid); // exec: the CLI's child is Pushpin itself
    expect(seen.args).toEqual([`--config=${config.path}`, '--verbose']);
    expect(seen.config).toBe(config.text);
    expect(existsSync(config.rundir)).toBe(false); // no adapted copy written
    expect(run.stderr).toBe('');
  });

  it("gives a 1.40+ Pushpin the profile's client buffer and settings and the proxy on loopback, and nothing else", async () => {
    const pushpin = standInPushpin('1.41.0');
    const config = cliStyleConfig();
    const run = await runWrapper([`--config=${config.path}`, '--verbose'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code, run.stderr).toBe(0);
    const seen = recorded(pushpin.record);
    expect(seen.pid).toBe(run.pid);
    expect(seen.args).toEqual([`--config=${join(config.rundir, 'pushpin-1234abcd.pushpin-1.41.0.conf')}`, '--verbose']);
    expect(seen.config).toBe(
      config.text.replace('client_buffer_size=8192', 'client_buffer_size=262144').replace('http_port=7677', 'http_port=127.0.0.1:7677').replace(CLI_HANDLER, GENTLE_HANDLER),
    );
    expect(readPushpinSetting(seen.config, 'proxy', 'routesfile')).toBe(config.routes); // no catch-all route past 1.36
    expect(run.stderr).toMatch(
      /adapted the config for Pushpin 1\.41\.0, Pushpin profile gentle \(\[runner\] http_port: 7677 -> 127\.0\.0\.1:7677 \(loopback only: [^)]*\); \[runner\] for Pushpin profile gentle: client_buffer_size 8192 -> 262144; \[handler\] for Pushpin profile gentle: message_rate 2500 -> 0, message_hwm 25000 -> 200000, id_cache_ttl 60 -> 0\)/,
    );
  });

  it("keeps the CLI's 8 KiB client buffer and id cache under PUSHPIN_PROFILE=fanout, turning its shaping off", async () => {
    const config = cliStyleConfig();
    for (const version of ['1.41.0', '1.36.0']) {
      const pushpin = standInPushpin(version);
      const run = await runWrapper([`--config=${config.path}`], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record, PUSHPIN_PROFILE: 'fanout' });
      expect(run.code, run.stderr).toBe(0);
      const seen = recorded(pushpin.record);
      expect(readPushpinSetting(seen.config, 'runner', 'client_buffer_size'), version).toBe('8192');
      expect(readPushpinSetting(seen.config, 'handler', 'id_cache_ttl'), version).toBe('60');
      expect(readPushpinSetting(seen.config, 'handler', 'message_rate'), version).toBe('0');
      expect(run.stderr, version).toMatch(new RegExp(`adapted the config for Pushpin ${version.replaceAll('.', '\\.')}, Pushpin profile fanout \\(`));
      expect(run.stderr, version).not.toContain('client_buffer_size');
    }
    const nodeWide = standInPushpin('1.41.0');
    expect((await runWrapper([`--config=${config.path}`], { PUSHPIN_PATH: nodeWide.binary, RECORD: nodeWide.record, PUSHPIN_PROFILE: 'fanout-node' })).code).toBe(0);
    expect(readPushpinSetting(recorded(nodeWide.record).config, 'handler', 'message_rate')).toBe('2500');
  });

  it('refuses a PUSHPIN_PROFILE it does not know, naming the profiles, and starts nothing', async () => {
    const pushpin = standInPushpin('1.41.0');
    const config = cliStyleConfig();
    const run = await runWrapper([`--config=${config.path}`], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record, PUSHPIN_PROFILE: 'fastly' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/PUSHPIN_PROFILE must be one of fanout, fanout-node, gentle, got "fastly"/);
    expect(existsSync(pushpin.record)).toBe(false);
  });

  it('execs 1.36 with an adapted copy in the rundir, the other arguments unchanged', async () => {
    const pushpin = standInPushpin('1.36.0');
    const config = cliStyleConfig();
    for (const form of [[`--config=${config.path}`], ['--config', config.path]]) {
      const run = await runWrapper([...form, '--verbose', '--port=1'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
      expect(run.code, run.stderr).toBe(0);
      const copy = join(config.rundir, 'pushpin-1234abcd.pushpin-1.36.0.conf');
      const seen = recorded(pushpin.record);
      expect(seen.pid).toBe(run.pid);
      expect(seen.args).toEqual(form.length === 1 ? [`--config=${copy}`, '--verbose', '--port=1'] : ['--config', copy, '--verbose', '--port=1']);
      expect(readPushpinSetting(seen.config, 'runner', 'services')).toBe('condure,zurl,pushpin-proxy,pushpin-handler');
      expect(readPushpinSetting(seen.config, 'proxy', 'zurl_in_specs')).toBe('ipc://{rundir}/{ipc_prefix}zurl-out');
      expect(readPushpinSetting(seen.config, 'runner', 'client_buffer_size')).toBe('262144');
      // The routes as the CLI wrote them, plus the catch-all 1.36 needs, in a copy beside the config.
      const routesCopy = join(config.rundir, 'pushpin-1234abcd.pushpin-1.36.0.routes');
      expect(readPushpinSetting(seen.config, 'proxy', 'routesfile')).toBe(routesCopy);
      expect(readFileSync(routesCopy, 'utf8')).toBe(`${CLI_ROUTES}* 127.0.0.1:3000,over_http,host=127.0.0.1:3000\n`);
      // The CLI's files are left alone.
      expect(readFileSync(config.path, 'utf8')).toBe(config.text);
      expect(readFileSync(config.routes, 'utf8')).toBe(CLI_ROUTES);
      expect(run.stderr).toMatch(/adapted the config for Pushpin 1\.36\.0, .*connmgr,proxy,handler -> condure,zurl,pushpin-proxy,pushpin-handler/);
      expect(run.stderr).toMatch(/client_buffer_size 8192 -> 262144; \[handler\] for Pushpin profile gentle: [^;]*; routes: added "\* 127\.0\.0\.1:3000,over_http,host=127\.0\.0\.1:3000"/);
    }
  });

  it("gives an installed 1.36 zurl's own template in a libdir beside the adapted copy", async () => {
    const pushpin = standInPushpin('1.36.0', 'installed');
    const config = cliStyleConfig();
    const run = await runWrapper([`--config=${config.path}`, '--verbose'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code, run.stderr).toBe(0);
    const seen = recorded(pushpin.record);
    // In the CLI's run directory, which the CLI deletes when it stops Pushpin.
    const libdir = join(config.rundir, 'pushpin-1234abcd.pushpin-1.36.0.lib');
    expect(readPushpinSetting(seen.config, 'global', 'libdir')).toBe(libdir);
    expect(readPushpinSetting(seen.config, 'global', 'include')).toBe(join(pushpin.libdir, 'internal.conf'));
    expect(readFileSync(join(libdir, ZURL_TEMPLATE_PATH), 'utf8')).toBe(buildZurlTemplate());
    expect(readdirSync(libdir, { recursive: true }).sort()).toEqual(['runner', ZURL_TEMPLATE_PATH]);
    expect(run.stderr).toContain(`[global] libdir=${libdir} (added: zurl's own template, max_open_requests=50000, in_hwm=50000, out_hwm=50000)`);

    // No absolute rundir: beside the copy, beside the config.
    const dir = mkdtempSync(join(work, 'own-'));
    writeFileSync(join(dir, 'pushpin.conf'), '[global]\ninclude={libdir}/internal.conf\n[runner]\nservices=connmgr,proxy,handler\n[proxy]\nroutesfile=routes\n');
    const beside = await runWrapper([`--config=${join(dir, 'pushpin.conf')}`], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(beside.code, beside.stderr).toBe(0);
    expect(readPushpinSetting(recorded(pushpin.record).config, 'global', 'libdir')).toBe(join(dir, '.pushpin.pushpin-1.36.0.lib'));
    expect(readdirSync(dir).sort()).toEqual(['.pushpin.pushpin-1.36.0.conf', '.pushpin.pushpin-1.36.0.lib', 'pushpin.conf']);

    // Versions without zurl get no libdir.
    const newer = standInPushpin('1.38.0', 'installed');
    const other = cliStyleConfig();
    expect((await runWrapper([`--config=${other.path}`], { PUSHPIN_PATH: newer.binary })).code).toBe(0);
    expect(readPushpinSetting(recorded(newer.record).config, 'global', 'libdir')).toBeUndefined();
    expect(readdirSync(other.rundir)).toEqual(['pushpin-1234abcd.pushpin-1.38.0.conf']);
  });

  it('writes the copy beside a config without an absolute rundir, with its routes file kept', async () => {
    const pushpin = standInPushpin('1.39.1');
    const dir = mkdtempSync(join(work, 'own-'));
    writeFileSync(join(dir, 'pushpin.conf'), '[runner]\nservices=connmgr,proxy,handler\n[proxy]\nroutesfile=routes\n');
    const run = await runWrapper([`--config=${join(dir, 'pushpin.conf')}`], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code, run.stderr).toBe(0);
    expect(recorded(pushpin.record).args).toEqual([`--config=${join(dir, '.pushpin.pushpin-1.39.1.conf')}`]);
    expect(readPushpinSetting(recorded(pushpin.record).config, 'proxy', 'routesfile')).toBe('routes');
    expect(readdirSync(dir).sort()).toEqual(['.pushpin.pushpin-1.39.1.conf', 'pushpin.conf']);
  });

  it('passes --version and other config-less runs straight to the installed Pushpin', async () => {
    const pushpin = standInPushpin('1.36.0');
    const run = await runWrapper(['--merge-output'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code).toBe(0);
    expect(readFileSync(pushpin.record, 'utf8')).toContain('arg=--merge-output');
    expect(existsSync(`${pushpin.record}.conf`)).toBe(false);
  });

  it('says clearly when there is no Pushpin to run, and never runs itself', async () => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const missing = await runWrapper(['--version'], { PUSHPIN_PATH: join(empty, 'nope') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Pushpin not found at PUSHPIN_PATH=.*nope/);

    // A PATH with what the wrapper itself needs, and no pushpin.
    const tools = mkdtempSync(join(work, 'tools-'));
    for (const [name, target] of [['node', process.execPath], ['sh', '/bin/sh'], ['sed', '/usr/bin/sed'], ['dirname', '/usr/bin/dirname']] as const) {
      symlinkSync(target, join(tools, name));
    }
    const noPath = await runWrapper(['--version'], { PUSHPIN_PATH: '', PATH: tools });
    expect(noPath.code).toBe(1);
    expect(noPath.stderr).toMatch(/no Pushpin installed .*apt-get install -y pushpin/s);

    // PUSHPIN_PATH naming the wrapper itself falls back to the installed Pushpin instead of looping.
    const self = spawn(PUSHPIN_WRAPPER_PATH, ['--version'], { env: { ...process.env, PUSHPIN_PATH: PUSHPIN_WRAPPER_PATH } });
    let out = '';
    self.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => self.once('close', resolve));
    expect(out).toMatch(/^pushpin \d+\.\d+\.\d+/);
  });

  it('reports an unreadable config instead of starting Pushpin', async () => {
    const pushpin = standInPushpin('1.36.0');
    const run = await runWrapper(['--config=/nonexistent/pushpin.conf'], { PUSHPIN_PATH: pushpin.binary, RECORD: pushpin.record });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read the Pushpin config \/nonexistent\/pushpin.conf/);
    expect(existsSync(pushpin.record)).toBe(false);
  });

  it('is skipped by the local harness, which runs the installed Pushpin itself', () => {
    const binary = ensurePushpin(PUSHPIN_WRAPPER_PATH, () => {});
    expect(binary.path).not.toBe(PUSHPIN_WRAPPER_PATH);
    expect(binary.path).toMatch(/pushpin$/);
  });

  it("is what this repository's fastly.toml gives the Fastly CLI as pushpin_path", () => {
    const { pushpinPath } = readManifest(join(PROJECT_ROOT, 'fastly.toml')).pushpin;
    expect(pushpinPath && isPushpinWrapper(pushpinPath)).toBe(true);
  });
});
