import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createSubscribeTokenVerifier, isTokenRefusal, signSubscribeToken } from './subscribeToken.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = 1_796_000_000;
const verifier = createSubscribeTokenVerifier(SECRET);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with any header and payload, HMAC-signed with `secret` (or unsigned). */
function handMade(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | undefined = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = header.alg === 'HS512' ? 'sha512' : 'sha256';
  return secret === undefined ? `${input}.` : `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}

describe('subscribe tokens', () => {
  it('grants what a token it issued says', async () => {
    const token = await signSubscribeToken({ channels: ['private-a', 'team-*'], ttlSeconds: 60, sub: 'u1', publish: true }, SECRET, NOW);
    expect(await verifier.verify(token, NOW)).toEqual({ channels: ['private-a', 'team-*'], sub: 'u1', exp: NOW + 60, publish: true });
    const member = await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60, sub: 'u1', info: { name: 'Ann', tags: ['x'] } }, SECRET, NOW);
    expect(await verifier.verify(member, NOW)).toEqual({ channels: ['private-a'], sub: 'u1', info: { name: 'Ann', tags: ['x'] }, exp: NOW + 60, publish: false });
    const plain = await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 5 }, SECRET, NOW);
    expect(await verifier.verify(plain, NOW)).toEqual({ channels: ['private-a'], exp: NOW + 5, publish: false });
  });

  it.each<[string, () => Promise<string> | string, string]>([
    ['expired', () => signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, SECRET, NOW - 61), 'expired'],
    ['expiring this very second', () => signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, SECRET, NOW - 60), 'expired'],
    ['signed with another secret', () => signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, `${SECRET}-other`, NOW), 'forged'],
    ['alg none', () => handMade({ alg: 'none', typ: 'JWT' }, { channels: ['private-a'], exp: NOW + 60 }, undefined), 'algorithm'],
    ['HS512 with the right secret', () => handMade({ alg: 'HS512' }, { channels: ['private-a'], exp: NOW + 60 }), 'algorithm'],
    ['RS256 in the header', () => handMade({ alg: 'RS256' }, { channels: ['private-a'], exp: NOW + 60 }), 'algorithm'],
    ['no exp', () => handMade({ alg: 'HS256' }, { channels: ['private-a'] }), 'claims'],
    ['a string exp', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: String(NOW + 60) }), 'claims'],
    ['not valid yet (nbf)', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: NOW + 60, nbf: NOW + 30 }), 'claims'],
    ['no channels', () => handMade({ alg: 'HS256' }, { exp: NOW + 60 }), 'claims'],
    ['channels not an array', () => handMade({ alg: 'HS256' }, { channels: 'private-a', exp: NOW + 60 }), 'claims'],
    ['an empty channels array', () => handMade({ alg: 'HS256' }, { channels: [], exp: NOW + 60 }), 'claims'],
    ['a channel that is no name', () => handMade({ alg: 'HS256' }, { channels: ['a b'], exp: NOW + 60 }), 'claims'],
    ['a * in the middle', () => handMade({ alg: 'HS256' }, { channels: ['private-*-x'], exp: NOW + 60 }), 'claims'],
    ['a number sub', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: NOW + 60, sub: 7 }), 'claims'],
    ['an info that is no object', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: NOW + 60, info: 'Ann' }), 'claims'],
    ['an info over 512 bytes', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: NOW + 60, info: { bio: 'x'.repeat(600) } }), 'claims'],
    ['a string publish', () => handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: NOW + 60, publish: 'yes' }), 'claims'],
    ['garbage', () => 'not-a-token', 'malformed'],
    ['a JWE-shaped string', () => 'a.b.c.d.e', 'malformed'],
    ['a huge token', () => `${'a'.repeat(5000)}.b.c`, 'malformed'],
    ['a signature flipped', async () => {
      const t = await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, SECRET, NOW);
      return `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`;
    }, 'forged'],
    ['a payload swapped under a valid signature', async () => {
      const [h, , sig] = (await signSubscribeToken({ channels: ['private-a'], ttlSeconds: 60 }, SECRET, NOW)).split('.');
      return `${h}.${b64({ channels: ['*'], exp: NOW + 3600 })}.${sig}`;
    }, 'forged'],
  ])('refuses a token %s', async (_name, make, reason) => {
    const result = await verifier.verify(await make(), NOW);
    expect(isTokenRefusal(result) && result.refused).toBe(reason);
  });

  it('grants whole seconds when exp is fractional (JWT allows it; jose setExpirationTime(Date.now()/1000 + 3600) makes one)', async () => {
    const token = await new SignJWT({ channels: ['private-a'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(NOW + 3600.75)
      .sign(new TextEncoder().encode(SECRET));
    const grant = await verifier.verify(token, NOW);
    // Rounded down: the grant never outlives the token.
    expect(grant).toEqual({ channels: ['private-a'], exp: NOW + 3600, publish: false });
    // Within its last second it is already over.
    expect(await verifier.verify(token, NOW + 3600)).toMatchObject({ refused: 'expired' });
  });

  it('refuses an exp too far ahead to be a time (past year 33658)', async () => {
    const token = handMade({ alg: 'HS256' }, { channels: ['private-a'], exp: 1e15 });
    expect(await verifier.verify(token, NOW)).toMatchObject({ refused: 'claims', message: expect.stringMatching(/exp/) });
  });

  it('never throws on arbitrary input, and grants only what was signed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}$/)), async (token) => {
        const result = await verifier.verify(token, NOW);
        expect(isTokenRefusal(result)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('an issuer with any JWT library interoperates', async () => {
    const token = await new SignJWT({ channels: ['private-x'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(NOW + 10)
      .sign(new TextEncoder().encode(SECRET));
    expect(await verifier.verify(token, NOW)).toMatchObject({ channels: ['private-x'], exp: NOW + 10 });
  });
});
