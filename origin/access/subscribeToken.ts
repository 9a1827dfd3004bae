// Subscribe tokens: JWTs signed HS256 with SUBSCRIBE_TOKEN_SECRET, granting channels until `exp`.
// Verification pins the algorithm (a token's own `alg` never chooses it, so `none` and RS/ES
// confusions are refused) and requires `exp`; the claims are checked here, not trusted.
import { errors, jwtVerify, SignJWT } from 'jose';
import { isPresenceInfo, MAX_TOKEN_LENGTH, PRESENCE_INFO_CLAIM, PRESENCE_INFO_MAX_BYTES, type PresenceInfo } from '../../protocol/index.ts';
import { isValidChannelPattern } from './channelPattern.ts';

/** What a valid token grants. */
export interface SubscribeGrant {
  /** Channel names and `prefix*` patterns. */
  channels: string[];
  /** The subscriber's id, when the issuer named one: who it is in a channel's presence (never used for authorization). */
  sub?: string;
  /** What the channel's presence shows of the subscriber (the `info` claim): a JSON object. */
  info?: PresenceInfo;
  /** Seconds since the epoch. */
  exp: number;
  /** Whether WebSocket clients holding it may publish to the channels it grants. */
  publish: boolean;
}

export type TokenRefusalReason = 'malformed' | 'algorithm' | 'forged' | 'expired' | 'claims';

export interface TokenRefusal {
  refused: TokenRefusalReason;
  message: string;
}

export const SUBSCRIBE_TOKEN_ALGORITHM = 'HS256';
/** HMAC keys shorter than the hash add nothing but weakness. */
export const MIN_SECRET_BYTES = 32;
export const MAX_GRANTED_CHANNELS = 100;

function refuse(refused: TokenRefusalReason, message: string): TokenRefusal {
  return { refused, message };
}

export function isTokenRefusal(value: SubscribeGrant | TokenRefusal): value is TokenRefusal {
  return 'refused' in value;
}

/** The latest `exp` taken (12 digits, year 33658): grants, link grants and meta carry it as such. */
export const MAX_TOKEN_EXP = 999_999_999_999;

function grantOf(payload: Record<string, unknown>, nowSeconds: number): SubscribeGrant | TokenRefusal {
  const { channels, sub, publish } = payload;
  const info = payload[PRESENCE_INFO_CLAIM];
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return refuse('claims', 'the token has no numeric "exp" claim');
  if (payload.exp > MAX_TOKEN_EXP) return refuse('claims', `the token's "exp" is beyond ${MAX_TOKEN_EXP} (not a time)`);
  // JWT allows a fractional exp; a grant ends at the whole second before it, never after the token.
  const exp = Math.floor(payload.exp);
  if (exp <= nowSeconds) return refuse('expired', 'the token has expired; get a fresh one');
  if (!Array.isArray(channels) || channels.length === 0 || channels.length > MAX_GRANTED_CHANNELS) {
    return refuse('claims', `the token's "channels" claim must be an array of 1 to ${MAX_GRANTED_CHANNELS} channel names`);
  }
  if (!channels.every((c): c is string => typeof c === 'string' && isValidChannelPattern(c))) {
    return refuse('claims', 'the token\'s "channels" claim holds something that is not a channel name or a "prefix*" pattern');
  }
  if (sub !== undefined && typeof sub !== 'string') return refuse('claims', 'the token\'s "sub" claim must be a string');
  if (publish !== undefined && typeof publish !== 'boolean') return refuse('claims', 'the token\'s "publish" claim must be true or false');
  if (info !== undefined && !isPresenceInfo(info)) {
    return refuse('claims', `the token's "${PRESENCE_INFO_CLAIM}" claim must be a JSON object of at most ${PRESENCE_INFO_MAX_BYTES} bytes`);
  }
  return { channels, ...(sub !== undefined ? { sub } : {}), ...(info !== undefined ? { info } : {}), exp, publish: publish === true };
}

export interface SubscribeTokenVerifier {
  verify(token: string, nowSeconds: number): Promise<SubscribeGrant | TokenRefusal>;
}

export function createSubscribeTokenVerifier(secret: string): SubscribeTokenVerifier {
  const key = new TextEncoder().encode(secret);
  return {
    async verify(token, nowSeconds) {
      if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) {
        return refuse('malformed', 'the token is not a JWT (three base64url parts separated by dots)');
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [SUBSCRIBE_TOKEN_ALGORITHM],
          requiredClaims: ['exp'],
          currentDate: new Date(nowSeconds * 1000),
        });
        return grantOf(payload as Record<string, unknown>, nowSeconds);
      } catch (error) {
        if (error instanceof errors.JWTExpired) return refuse('expired', 'the token has expired; get a fresh one');
        if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
          return refuse('algorithm', `the token must be signed ${SUBSCRIBE_TOKEN_ALGORITHM}`);
        }
        if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('forged', 'the token\'s signature does not verify');
        if (error instanceof errors.JWTClaimValidationFailed) return refuse('claims', `the token's claims are not valid: ${error.message}`);
        if (error instanceof errors.JOSEError) return refuse('malformed', `the token cannot be read: ${error.message}`);
        throw error;
      }
    },
  };
}

export interface SubscribeTokenClaims {
  channels: string[];
  /** Seconds from now. */
  ttlSeconds: number;
  sub?: string;
  /** Presence info (the `info` claim). */
  info?: PresenceInfo;
  publish?: boolean;
}

/** Issues a token (for `npm run token`, tests and servers that use this package to issue them). */
export async function signSubscribeToken(claims: SubscribeTokenClaims, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const jwt = new SignJWT({
    channels: claims.channels,
    ...(claims.publish ? { publish: true } : {}),
    ...(claims.info !== undefined ? { [PRESENCE_INFO_CLAIM]: claims.info } : {}),
  })
    .setProtectedHeader({ alg: SUBSCRIBE_TOKEN_ALGORITHM, typ: 'JWT' })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + claims.ttlSeconds);
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  return jwt.sign(new TextEncoder().encode(secret));
}
