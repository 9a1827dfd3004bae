// Who may subscribe to (and, over WebSocket, publish to) a channel. Channels whose name starts with the
// private prefix need a subscribe token granting them; every other channel is public. One policy for
// every transport and the history API, so they refuse the same things with the same words.
import type { PresenceInfo } from '../../protocol/index.ts';
import { patternsCover } from './channelPattern.ts';
import { createLinkGrants, type LinkGrants } from './linkGrant.ts';
import { createSubscribeTokenVerifier, isTokenRefusal, type SubscribeTokenVerifier, type TokenRefusalReason } from './subscribeToken.ts';

export interface AccessConfig {
  /** Channels starting with it are private. */
  privatePrefix: string;
  /** Undefined: private channels are refused to everyone (there is no secret to verify tokens with). */
  tokenSecret?: string;
}

export type RefusalReason = TokenRefusalReason | 'missing' | 'channel' | 'publish' | 'disabled';

export type AccessDecision =
  | { allowed: true; kind: 'public' }
  /**
   * `exp`: when the grant ends (seconds since the epoch); `publish`: the token also allows publishing;
   * `sub`, `info`: who the holder is in the channel's presence (the token's claims, when it has them).
   */
  | { allowed: true; kind: 'granted'; exp: number; publish: boolean; sub?: string; info?: PresenceInfo }
  | { allowed: false; reason: RefusalReason; message: string };

export interface ChannelAccess {
  readonly privatePrefix: string;
  isPrivate(channel: string): boolean;
  /** Whether `token` (undefined: none was given) lets its holder subscribe to `channel` now. */
  authorize(channel: string, token: string | undefined): Promise<AccessDecision>;
  /**
   * Whether `token` grants `channel`, public or private (what a presence read takes from a subscriber:
   * a token for that channel). Never `public`.
   */
  authorizeToken(channel: string, token: string | undefined): Promise<Exclude<AccessDecision, { kind: 'public' }>>;
  /** Signs and checks the grants stream holds carry in their next links (undefined without a secret). */
  readonly linkGrants: LinkGrants | undefined;
  nowSeconds(): number;
}

export function createChannelAccess(config: AccessConfig, nowSeconds: () => number = () => Math.floor(Date.now() / 1000)): ChannelAccess {
  const verifier: SubscribeTokenVerifier | undefined = config.tokenSecret ? createSubscribeTokenVerifier(config.tokenSecret) : undefined;
  const isPrivate = (channel: string) => channel.startsWith(config.privatePrefix);
  const authorizeToken: ChannelAccess['authorizeToken'] = async (channel, token) => {
    const what = isPrivate(channel) ? `${channel} is a private channel` : `this takes a subscribe token for ${channel}`;
    if (!verifier) {
      return { allowed: false, reason: 'disabled', message: `${what} and this origin has no SUBSCRIBE_TOKEN_SECRET to verify tokens with` };
    }
    if (token === undefined) {
      return {
        allowed: false,
        reason: 'missing',
        message: `${what}: give a subscribe token (?token=, "Authorization: Bearer", or "token" in a WebSocket subscribe)`,
      };
    }
    const grant = await verifier.verify(token, nowSeconds());
    if (isTokenRefusal(grant)) return { allowed: false, reason: grant.refused, message: grant.message };
    if (!patternsCover(grant.channels, channel)) {
      return { allowed: false, reason: 'channel', message: `the token does not grant ${channel}` };
    }
    return {
      allowed: true,
      kind: 'granted',
      exp: grant.exp,
      publish: grant.publish,
      ...(grant.sub !== undefined ? { sub: grant.sub } : {}),
      ...(grant.info !== undefined ? { info: grant.info } : {}),
    };
  };
  return {
    privatePrefix: config.privatePrefix,
    isPrivate,
    linkGrants: config.tokenSecret ? createLinkGrants(config.tokenSecret) : undefined,
    nowSeconds,
    authorizeToken,
    async authorize(channel, token) {
      if (!isPrivate(channel)) return { allowed: true, kind: 'public' };
      return authorizeToken(channel, token);
    },
  };
}

/** Whether a decision lets its holder publish too (public channels: whoever may publish at all). */
export function allowsPublish(decision: AccessDecision): boolean {
  return decision.allowed && (decision.kind === 'public' || decision.publish);
}
