import { generateKeyPair, exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createGripSignatureVerifier } from './gripSignature.ts';

const secret = 'viceroy_dev_signing_key_dont_use_in_production';
const hs = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

const hsToken = (claims: Record<string, unknown>, key = hs) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

describe('Grip-Sig verification', async () => {
  const verify = await createGripSignatureVerifier([{ algorithm: 'HS256', secret, issuer: 'viceroy' }]);

  it('accepts what the local Pushpin sends', async () => {
    expect(await verify(await hsToken({ iss: 'viceroy', exp: now() + 3600 }))).toEqual({ valid: true, issuer: 'viceroy' });
  });

  it.each([
    ['missing', async () => undefined],
    ['malformed', async () => 'garbage'],
    ['bad-signature', async () => hsToken({ iss: 'viceroy', exp: now() + 60 }, new TextEncoder().encode('other key'))],
    ['expired', async () => hsToken({ iss: 'viceroy', exp: now() - 60 })],
    ['wrong-issuer', async () => hsToken({ iss: 'someone-else', exp: now() + 60 })],
    ['malformed', async () => hsToken({ iss: 'viceroy' })],
    ['bad-algorithm', async () => new UnsecuredJWT({ iss: 'viceroy', exp: now() + 60 }).encode()],
  ])('refuses a %s signature', async (reason, token) => {
    expect(await verify(await token())).toEqual({ valid: false, reason });
  });

  it('verifies Fastly-style ES256 and refuses an HS256 token made with the public key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    const es = await createGripSignatureVerifier([{ algorithm: 'ES256', publicJwk, issuer: 'fastly:svc' }]);
    const good = await new SignJWT({ iss: 'fastly:svc', exp: now() + 60 }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    expect(await es(good)).toEqual({ valid: true, issuer: 'fastly:svc' });
    const confused = await hsToken({ iss: 'fastly:svc', exp: now() + 60 }, new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect((await es(confused)).valid).toBe(false);
  });
});
