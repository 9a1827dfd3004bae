// Verifies the Grip-Sig header the proxy (Pushpin or Fastly Fanout) adds to every request it forwards.
// Written against jose directly because serve-grip 2.0.0 never awaits its check and trusts any value.
// The algorithm is pinned per key (HS256 dev secret, ES256 Fastly key), so `alg: none` or an algorithm
// swap cannot pass, and `exp` is required.
import { errors, importJWK, jwtVerify, type KeyLike } from 'jose';
import type { SignatureKeySpec } from '../config/originConfig.ts';

export type GripSignatureResult =
  | { valid: true; issuer: string | undefined }
  | { valid: false; reason: 'missing' | 'malformed' | 'expired' | 'bad-signature' | 'wrong-issuer' | 'bad-algorithm' };

interface PreparedKey {
  key: KeyLike | Uint8Array;
  algorithm: 'HS256' | 'ES256';
  issuer: string | undefined;
}

export type GripSignatureVerifier = (header: string | undefined) => Promise<GripSignatureResult>;

async function prepare(spec: SignatureKeySpec): Promise<PreparedKey> {
  if (spec.algorithm === 'HS256') {
    return { key: new TextEncoder().encode(spec.secret), algorithm: 'HS256', issuer: spec.issuer };
  }
  const key = await importJWK(spec.publicJwk, 'ES256');
  return { key, algorithm: 'ES256', issuer: spec.issuer };
}

function classify(error: unknown): Exclude<GripSignatureResult, { valid: true }>['reason'] {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim === 'iss' ? 'wrong-issuer' : 'malformed';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'bad-algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
  return 'malformed';
}

export async function createGripSignatureVerifier(specs: SignatureKeySpec[]): Promise<GripSignatureVerifier> {
  if (specs.length === 0) throw new Error('at least one Grip-Sig key is required');
  const keys = await Promise.all(specs.map(prepare));
  return async (header) => {
    if (header === undefined || header.trim() === '') return { valid: false, reason: 'missing' };
    let firstFailure: Exclude<GripSignatureResult, { valid: true }>['reason'] = 'bad-signature';
    for (const [index, prepared] of keys.entries()) {
      try {
        const { payload } = await jwtVerify(header.trim(), prepared.key, {
          algorithms: [prepared.algorithm],
          requiredClaims: ['exp'],
          ...(prepared.issuer ? { issuer: prepared.issuer } : {}),
        });
        return { valid: true, issuer: payload.iss };
      } catch (error) {
        if (index === 0) firstFailure = classify(error);
      }
    }
    return { valid: false, reason: firstFailure };
  };
}
