import { describe, expect, it } from 'vitest';
import { DEFAULT_EDGE_PORT } from './localStack.ts';
import { DEFAULT_PUSHPIN_PROFILE } from '../pushpin/pushpinProfiles.ts';
import { parseStartOptions, START_USAGE, UsageError } from './startOptions.ts';

const defaults = { cwd: '/home/me/work', manifestPath: '/repo/fastly.toml', logDir: '/repo/pushpin-logs' };

describe('npm start options', () => {
  it('defaults to the repository manifest, the edge on 7676 and ./pushpin-logs', () => {
    expect(parseStartOptions([], defaults)).toEqual({
      manifestPath: '/repo/fastly.toml',
      edgePort: DEFAULT_EDGE_PORT,
      logDir: '/repo/pushpin-logs',
      echo: 'problems',
      watch: false,
      pushpinListenAll: false,
      pushpinProfile: DEFAULT_PUSHPIN_PROFILE,
    });
  });

  it('resolves relative paths against the directory the user typed the command in', () => {
    expect(parseStartOptions(['--config', 'other.toml', '--log-dir', '../logs', '--edge-port', '17676', '-q'], defaults)).toEqual({
      manifestPath: '/home/me/work/other.toml',
      edgePort: 17676,
      logDir: '/home/me/logs',
      echo: 'none',
      watch: false,
      pushpinListenAll: false,
      pushpinProfile: DEFAULT_PUSHPIN_PROFILE,
    });
    expect(parseStartOptions(['--pushpin-listen-all'], defaults)).toMatchObject({ pushpinListenAll: true });
    expect(parseStartOptions(['--watch'], defaults)).toMatchObject({ watch: true });
    expect(parseStartOptions(['-w', '-q'], defaults)).toMatchObject({ watch: true, echo: 'none' });
    expect(parseStartOptions(['--verbose'], defaults)).toMatchObject({ echo: 'all' });
    expect(() => parseStartOptions(['-q', '-v'], defaults)).toThrow(/--quiet and --verbose cannot be given together/);
    expect(parseStartOptions(['-C', '/abs/fastly.toml', '--edge-port=8080'], defaults)).toMatchObject({
      manifestPath: '/abs/fastly.toml',
      edgePort: 8080,
    });
  });

  it('takes the Pushpin profile from --pushpin-profile, else PUSHPIN_PROFILE, else the default', () => {
    expect(parseStartOptions(['--pushpin-profile', 'fanout'], defaults)).toMatchObject({ pushpinProfile: 'fanout' });
    expect(parseStartOptions(['--pushpin-profile=fanout-node'], { ...defaults, env: { PUSHPIN_PROFILE: 'gentle' } })).toMatchObject({ pushpinProfile: 'fanout-node' });
    expect(parseStartOptions([], { ...defaults, env: { PUSHPIN_PROFILE: 'fanout' } })).toMatchObject({ pushpinProfile: 'fanout' });
    expect(parseStartOptions([], { ...defaults, env: { PUSHPIN_PROFILE: '' } })).toMatchObject({ pushpinProfile: DEFAULT_PUSHPIN_PROFILE });
    expect(() => parseStartOptions([], { ...defaults, env: { PUSHPIN_PROFILE: 'fast' } })).toThrow(UsageError);
    expect(() => parseStartOptions([], { ...defaults, env: { PUSHPIN_PROFILE: 'fast' } })).toThrow(/PUSHPIN_PROFILE must be one of fanout, fanout-node, gentle, got "fast"/);
    // Without an env in the defaults the shell's PUSHPIN_PROFILE is not read.
    expect(parseStartOptions([], defaults)).toMatchObject({ pushpinProfile: DEFAULT_PUSHPIN_PROFILE });
    for (const name of ['fanout', 'fanout-node', 'gentle']) expect(START_USAGE).toContain(name);
    expect(START_USAGE).toContain(`Default: $PUSHPIN_PROFILE when set, else ${DEFAULT_PUSHPIN_PROFILE}.`);
  });

  it('answers help', () => {
    expect(parseStartOptions(['--help'], defaults)).toBe('help');
    expect(parseStartOptions(['-h', '--edge-port', 'x'], defaults)).toBe('help');
  });

  it.each([
    [['--edge-port', '0'], /--edge-port must be a port number \(1-65535\), got "0"/],
    [['--edge-port', '65536'], /--edge-port must be a port number/],
    [['--edge-port', '12ab'], /--edge-port must be a port number/],
    [['--edge-port'], /--edge-port/],
    [['--config', ''], /--config needs a non-empty value/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /unexpected argument "stray"/],
    [['--pushpin-profile', 'fastly'], /--pushpin-profile must be one of fanout, fanout-node, gentle, got "fastly"/],
    [['--pushpin-profile'], /--pushpin-profile/],
  ])('rejects %j with a usage error naming the problem', (argv, message) => {
    expect(() => parseStartOptions(argv, defaults)).toThrow(UsageError);
    expect(() => parseStartOptions(argv, defaults)).toThrow(message);
  });
});
