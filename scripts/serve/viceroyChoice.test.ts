import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseViceroy, cliViceroyPath, userConfigDir } from './viceroyChoice.ts';

const work = mkdtempSync(join(tmpdir(), 'viceroy-choice-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An executable that answers --version like Viceroy (or with `output`). */
function executable(path: string, output = 'viceroy 0.14.2'): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\necho '${output}'\n`);
  chmodSync(path, 0o755);
  return path;
}

const LOCAL_HOST = '/repo/scripts/compute-host/viceroy';

function fresh(): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(work, 'home-'));
  return { home, env: { HOME: home, PATH: join(home, 'bin') } };
}

describe('which Viceroy npm run serve gives the Fastly CLI', () => {
  it('finds the CLI\'s install dir as Go\'s os.UserConfigDir does', () => {
    expect(userConfigDir('linux', { HOME: '/home/u' })).toBe('/home/u/.config');
    expect(userConfigDir('linux', { HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg');
    expect(userConfigDir('linux', { HOME: '/home/u', XDG_CONFIG_HOME: 'relative' })).toBeUndefined();
    expect(userConfigDir('darwin', { HOME: '/Users/u' })).toBe('/Users/u/Library/Application Support');
    expect(cliViceroyPath('linux', { HOME: '/home/u' }, '/home/u')).toBe('/home/u/.config/fastly/viceroy');
    expect(cliViceroyPath('linux', {}, '/home/u')).toBe('/home/u/.fastly/viceroy');
    expect(cliViceroyPath('win32', { AppData: 'C:\\AppData' }, 'C:\\u')).toMatch(/fastly[\\/]viceroy\.exe$/);
  });

  it('uses the local Compute host when no Viceroy is installed', () => {
    const { home, env } = fresh();
    const choice = chooseViceroy({ viceroyCheck: false }, { platform: 'linux', env, homedir: home, localHost: LOCAL_HOST });
    expect(choice).toMatchObject({ kind: 'local-host', viceroyPath: LOCAL_HOST });
    expect(choice.reason).toContain(join(home, '.config/fastly/viceroy'));
  });

  it('leaves the CLI its own downloaded Viceroy', () => {
    const { home, env } = fresh();
    executable(join(home, '.config/fastly/viceroy'));
    const choice = chooseViceroy({ viceroyCheck: false }, { platform: 'linux', env, homedir: home, localHost: LOCAL_HOST });
    expect(choice.kind).toBe('cli-installed');
    expect(choice.viceroyPath).toBeUndefined();
    expect(choice.reason).toContain('viceroy 0.14.2');
  });

  it('passes a viceroy on PATH, and ignores one that is not Viceroy', () => {
    const { home, env } = fresh();
    executable(join(home, '.config/fastly/viceroy'), 'something else');
    const onPath = executable(join(home, 'bin/viceroy'));
    expect(chooseViceroy({ viceroyCheck: false }, { platform: 'linux', env, homedir: home, localHost: LOCAL_HOST })).toMatchObject({
      kind: 'on-path',
      viceroyPath: onPath,
    });
    executable(onPath, 'not viceroy');
    expect(chooseViceroy({ viceroyCheck: false }, { platform: 'linux', env, homedir: home, localHost: LOCAL_HOST }).kind).toBe('local-host');
  });

  it('adds nothing when the user chose: --viceroy-path, --viceroy-check, FASTLY_VICEROY_USE_PATH', () => {
    const { home, env } = fresh();
    const where = { platform: 'linux' as const, env, homedir: home, localHost: LOCAL_HOST };
    const given = chooseViceroy({ viceroyPath: '/opt/v', viceroyCheck: false }, where);
    expect(given.kind).toBe('given');
    expect(given.viceroyPath).toBeUndefined();
    expect(chooseViceroy({ viceroyCheck: true }, where).viceroyPath).toBeUndefined();
    expect(chooseViceroy({ viceroyCheck: false }, { ...where, env: { ...env, FASTLY_VICEROY_USE_PATH: 'true' } }).kind).toBe('cli-path-lookup');
  });
});
