import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowsPublish, createChannelAccess } from './channelAccess.ts';
import { isValidChannelPattern, patternCovers } from './channelPattern.ts';
import { createLinkGrants } from './linkGrant.ts';
import { signSubscribeToken } from './subscribeToken.ts';
import { presentedToken } from './tokenPresentation.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = 1_796_000_000;
const access = createChannelAccess({ privatePrefix: 'private-', tokenSecret: SECRET }, () => NOW);
const token = (channels: string[], extra: { publish?: boolean; ttlSeconds?: number } = {}) =>
  signSubscribeToken({ channels, ttlSeconds: extra.ttlSeconds ?? 60, ...(extra.publish ? { publish: true } : {}) }, SECRET, NOW);

describe('channel access', () => {
  it('leaves public channels open, whatever token comes or not', async () => {
    expect(await access.authorize('news', undefined)).toEqual({ allowed: true, kind: 'public' });
    expect(await access.authorize('news', 'garbage')).toEqual({ allowed: true, kind: 'public' });
    expect(allowsPublish({ allowed: true, kind: 'public' })).toBe(true);
  });

  it('opens a private channel to a token granting it, exactly or by prefix', async () => {
    expect(await access.authorize('private-a', await token(['private-a']))).toEqual({ allowed: true, kind: 'granted', exp: NOW + 60, publish: false });
    expect(await access.authorize('private-team-1', await token(['private-team-*'], { publish: true }))).toMatchObject({ allowed: true, publish: true });
    expect(await access.authorize('private-anything', await token(['*']))).toMatchObject({ allowed: true });
  });

  it.each<[string, string, () => Promise<string | undefined>, string]>([
    ['no token', 'private-a', async () => undefined, 'missing'],
    ['a token for another channel', 'private-a', () => token(['private-b']), 'channel'],
    ['a prefix that stops short', 'private-a', () => token(['private-ab*']), 'channel'],
    ['an exact name is not a prefix', 'private-ab', () => token(['private-a']), 'channel'],
    ['an expired token', 'private-a', () => signSubscribeToken({ channels: ['private-a'], ttlSeconds: 1 }, SECRET, NOW - 10), 'expired'],
  ])('refuses %s', async (_name, channel, make, reason) => {
    expect(await access.authorize(channel, await make())).toMatchObject({ allowed: false, reason });
  });

  it('refuses every private subscribe without a secret, and says why', async () => {
    const closed = createChannelAccess({ privatePrefix: 'private-' }, () => NOW);
    expect(await closed.authorize('private-a', await token(['private-a']))).toMatchObject({
      allowed: false,
      reason: 'disabled',
      message: expect.stringContaining('SUBSCRIBE_TOKEN_SECRET'),
    });
    expect(closed.linkGrants).toBeUndefined();
  });

  it('channel patterns: a * only at the end, and a prefix covers exactly what starts with it (property)', () => {
    expect(isValidChannelPattern('*')).toBe(true);
    expect(isValidChannelPattern('private-*')).toBe(true);
    expect(isValidChannelPattern('a*b')).toBe(false);
    expect(isValidChannelPattern('**')).toBe(false);
    expect(isValidChannelPattern('.x*')).toBe(false);
    const name = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(name, name, (prefix, channel) => {
        expect(patternCovers(`${prefix}*`, channel)).toBe(channel.startsWith(prefix));
        expect(patternCovers(prefix, channel)).toBe(prefix === channel);
      }),
    );
  });
});

describe('link grants', () => {
  const grants = createLinkGrants(SECRET);
  const scope = { transport: 'sse', channel: 'private-a' };

  it('hold for their transport and channel until exp', () => {
    const grant = grants.sign(scope, NOW + 30);
    expect(grants.check(grant, scope, NOW)).toEqual({ valid: true, exp: NOW + 30 });
    expect(grants.check(grant, scope, NOW + 30)).toEqual({ valid: false, expired: true });
    expect(grants.check(grant, { ...scope, channel: 'private-b' }, NOW)).toEqual({ valid: false, expired: false });
    expect(grants.check(grant, { ...scope, transport: 'stream' }, NOW)).toEqual({ valid: false, expired: false });
  });

  it('cannot be extended, forged or made with another secret', () => {
    const grant = grants.sign(scope, NOW + 30);
    const [, mac] = grant.split('.');
    expect(grants.check(`${NOW + 9999}.${mac}`, scope, NOW).valid).toBe(false);
    expect(grants.check(createLinkGrants(`${SECRET}x`).sign(scope, NOW + 30), scope, NOW).valid).toBe(false);
    fc.assert(
      fc.property(fc.string(), (garbage) => {
        expect(grants.check(garbage, scope, NOW).valid).toBe(false);
      }),
    );
  });
});

describe('where a token is presented', () => {
  it.each<[string, unknown, string | undefined, ReturnType<typeof presentedToken>]>([
    ['query', 'a.b.c', undefined, { token: 'a.b.c' }],
    ['bearer', undefined, 'Bearer a.b.c', { token: 'a.b.c' }],
    ['bearer in any case', undefined, 'bearer a.b.c', { token: 'a.b.c' }],
    ['both, the same', 'a.b.c', 'Bearer a.b.c', { token: 'a.b.c' }],
    ['neither', undefined, undefined, { token: undefined }],
    ['another scheme is no token', undefined, 'Basic dXNlcjpwYXNz', { token: undefined }],
    ['an empty query', '', undefined, { token: undefined }],
    ['both, different', 'a.b.c', 'Bearer x.y.z', { ambiguous: expect.stringContaining('not two') }],
    ['twice in the query', ['a', 'b'], undefined, { ambiguous: expect.stringContaining('once') }],
  ])('%s', (_name, query, authorization, expected) => {
    expect(presentedToken(query, authorization)).toEqual(expected);
  });
});
