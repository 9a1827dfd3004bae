import { describe, expect, it } from 'vitest';
import { createSubscribeTokenVerifier } from '../../origin/access/subscribeToken.ts';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';
import { DEFAULT_TTL_SECONDS, parseTokenCommand, TokenUsageError } from './tokenCommand.ts';

describe('npm run token arguments', () => {
  it('takes channels, prefixes, --ttl, --sub and --publish', async () => {
    const command = parseTokenCommand(['private-a', 'team-*', '--ttl', '600', '--sub', 'u1', '--publish'], {});
    expect(command).toEqual({ channels: ['private-a', 'team-*'], ttlSeconds: 600, sub: 'u1', publish: true, secret: DEV_SUBSCRIBE_TOKEN_SECRET, devSecret: true });
    if (command === 'help') throw new Error('unreachable');
    const token = await signSubscribeToken(command, command.secret, 1_796_000_000);
    expect(await createSubscribeTokenVerifier(DEV_SUBSCRIBE_TOKEN_SECRET).verify(token, 1_796_000_000)).toEqual({
      channels: ['private-a', 'team-*'],
      sub: 'u1',
      exp: 1_796_000_600,
      publish: true,
    });
  });

  it('takes presence info as a JSON object', async () => {
    const command = parseTokenCommand(['private-room', '--sub', 'ann', '--info', '{"name":"Ann"}'], {});
    if (command === 'help') throw new Error('unreachable');
    expect(command.info).toEqual({ name: 'Ann' });
    const token = await signSubscribeToken(command, command.secret, 1_796_000_000);
    expect(await createSubscribeTokenVerifier(DEV_SUBSCRIBE_TOKEN_SECRET).verify(token, 1_796_000_000)).toMatchObject({ sub: 'ann', info: { name: 'Ann' } });
  });

  it('signs with SUBSCRIBE_TOKEN_SECRET when set, and defaults to an hour', () => {
    const secret = 'x'.repeat(40);
    expect(parseTokenCommand(['c'], { SUBSCRIBE_TOKEN_SECRET: secret })).toMatchObject({ secret, devSecret: false, ttlSeconds: DEFAULT_TTL_SECONDS, publish: false });
    expect(parseTokenCommand(['--help'], {})).toBe('help');
  });

  it.each([
    [[], /at least one channel/],
    [['bad name'], /not a channel name/],
    [['a*b'], /not a channel name/],
    [['c', '--ttl', '0'], /--ttl must be/],
    [['c', '--ttl', '1.5'], /--ttl must be/],
    [['c', '--ttl', '999999999'], /--ttl must be/],
    [['c', '--sub', ''], /--sub/],
    [['c', '--nope'], /Unknown option/],
    [['c', '--info', 'Ann'], /--info must be JSON/],
    [['c', '--info', '[1]'], /JSON object/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseTokenCommand(argv as string[], {})).toThrow(TokenUsageError);
    expect(() => parseTokenCommand(argv as string[], {})).toThrow(message);
  });

  it('refuses a short SUBSCRIBE_TOKEN_SECRET, as the origin does', () => {
    expect(() => parseTokenCommand(['c'], { SUBSCRIBE_TOKEN_SECRET: 'short' })).toThrow(/at least 32 bytes/);
  });
});
