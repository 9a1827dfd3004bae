// The publish CLI as the package's bin: `npx fanout-publish ...` runs scripts/publish.ts, and its stdout
// is exactly the CLI's output (npm run prints a "> fanout-forward@... publish" banner there first).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { runPublishCli, type CliRun } from '../harness/publishCli.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const PUBLISH_ENV = ['GRIP_URL', 'FASTLY_SERVICE_ID', 'FASTLY_API_TOKEN', 'FASTLY_API_URL', 'ORIGIN_URL', 'PUBLISH_TOKEN'];

/** `command args...` from the repository, with the publish settings of the caller's shell removed. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PUBLISH_ENV) delete environment[name];
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env: { ...environment, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// --no: never install a package of that name from the registry; the bin must come from this repository.
const bin = (args: string[], env?: Record<string, string>): Promise<CliRun> => run('npx', ['--no', '--', 'fanout-publish', ...args], env);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('fanout-publish, the package bin', () => {
  it('is declared in package.json and points at an executable entry for scripts/publish.ts', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin?.['fanout-publish']).toBe('scripts/fanout-publish.mjs');
    expect(readFileSync(join(PROJECT_ROOT, 'scripts/fanout-publish.mjs'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n[\s\S]*import\('\.\/publish\.ts'\)/);
  });

  it('prints exactly what the CLI prints: --help, and a usage error as JSON', async () => {
    const [viaBin, direct] = await Promise.all([bin(['--help']), runPublishCli(['--help'])]);
    expect(viaBin.code).toBe(0);
    expect(viaBin.stdout).toBe(direct.stdout);
    expect(viaBin.stdout).toMatch(/^Publish a message/);

    const [badBin, badDirect] = await Promise.all([bin(['--json']), runPublishCli(['--json'])]);
    expect(badBin.code).toBe(2);
    expect(badBin.code).toBe(badDirect.code);
    expect(badBin.stdout).toBe(badDirect.stdout);
    expect(JSON.parse(badBin.stdout)).toMatchObject({ ok: false, exitCode: 2 });
  });

  it('publishes through the origin with nothing but one JSON result on stdout', async () => {
    const env = { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: stack.publishToken };
    const result = await bin(['bin-channel', '{"text":"via the bin"}', '--target', 'origin', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    // Ids are positions seeded from the clock (see docs/protocol.md, Ids and positions), not counters from 1.
    const printed = JSON.parse(result.stdout) as { ok: boolean; sent: number; ids: string[] };
    expect(printed).toMatchObject({ ok: true, sent: 1, ids: [expect.stringMatching(/^\d+$/)] });
    const history = (await (await fetch(`${stack.urls.origin}/api/channels/bin-channel/messages`)).json()) as {
      messages: Array<{ id: string; data: unknown }>;
    };
    expect(history.messages.map((m) => [m.id, m.data])).toEqual([[printed.ids[0], { text: 'via the bin' }]]);
  });

  it('where `npm run publish` puts its banner first', async () => {
    const viaScript = await run('npm', ['run', 'publish', '--', '--help']);
    expect(viaScript.stdout).toMatch(/^\s*> fanout-forward@[^\n]* publish\n/);
  });
});
