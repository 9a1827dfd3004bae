// `npm run compose:config`'s arguments: --help says what it does and exits 0 without writing; an
// unknown option or profile is a clear error (exit 2, with the usage) instead of a stack trace.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { COMPOSE_CONFIG_HELP, composeConfigFiles, ComposeConfigUsageError, parseComposeConfigArgs } from './composeConfig.ts';

describe('parseComposeConfigArgs', () => {
  it('takes --pushpin-profile, the default without it, and --help / -h', () => {
    expect(parseComposeConfigArgs([])).toEqual({ profile: 'fanout' });
    expect(parseComposeConfigArgs(['--pushpin-profile', 'gentle'])).toEqual({ profile: 'gentle' });
    expect(parseComposeConfigArgs(['--help'])).toBe('help');
    expect(parseComposeConfigArgs(['-h', '--pushpin-profile', 'gentle'])).toBe('help');
  });

  it('refuses an unknown option, a stray argument and an unknown profile', () => {
    expect(() => parseComposeConfigArgs(['--bogus'])).toThrow(new ComposeConfigUsageError("Unknown option '--bogus'"));
    expect(() => parseComposeConfigArgs(['gentle'])).toThrow(ComposeConfigUsageError);
    expect(() => parseComposeConfigArgs(['--pushpin-profile', 'fastly'])).toThrow(/--pushpin-profile must be one of fanout, fanout-node, gentle, got "fastly"/);
  });
});

describe('npm run compose:config', () => {
  const run = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/pushpin/composeConfig.ts'), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const writtenAt = (): number[] => Object.values(composeConfigFiles()).map((path) => statSync(path).mtimeMs);

  it('--help prints what it does and exits 0, writing nothing', () => {
    const before = writtenAt();
    const result = run(['--help']);
    expect(result.status, String(result.stderr)).toBe(0);
    expect(result.stdout).toBe(COMPOSE_CONFIG_HELP);
    expect(COMPOSE_CONFIG_HELP).toMatch(/^Usage: npm run compose:config .*\n\nWrites the Pushpin config that docker-compose\.yml mounts/);
    expect(writtenAt()).toEqual(before);
  });

  it('an unknown option: says which, shows the usage, exits 2, writing nothing', () => {
    const before = writtenAt();
    const result = run(['--bogus']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`npm run compose:config: Unknown option '--bogus'\n\n${COMPOSE_CONFIG_HELP}`);
    expect(result.stdout).toBe('');
    expect(writtenAt()).toEqual(before);
  });
});
