// The authorization a stream hold's next link carries. Pushpin fetches that link on its own (to
// recover a gap, to page a replay, when the link's timeout passes) with none of the client's headers,
// so the link has to say that the hold was authorized. It does so with a grant the origin signs: for
// one transport, one channel, until the token's `exp`. It is not the client's token (which never goes
// into a URL the proxy logs), it cannot be widened, and the client never sees it: Pushpin and Fanout
// keep Grip-Link to themselves.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type LinkGrantCheck = { valid: true; exp: number } | { valid: false; expired: boolean };

export interface LinkGrants {
  sign(scope: LinkGrantScope, exp: number): string;
  check(grant: string, scope: LinkGrantScope, nowSeconds: number): LinkGrantCheck;
}

export interface LinkGrantScope {
  transport: string;
  channel: string;
}

const GRANT = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export function createLinkGrants(secret: string): LinkGrants {
  // Its own key, derived from the token secret, so a grant can never pass for anything else signed with it.
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'fanout-forward link grant v1', 32));
  const mac = (scope: LinkGrantScope, exp: number) =>
    createHmac('sha256', key).update(`${scope.transport}\n${scope.channel}\n${exp}`).digest();
  return {
    sign(scope, exp) {
      return `${exp}.${mac(scope, exp).toString('base64url')}`;
    },
    check(grant, scope, nowSeconds) {
      const match = GRANT.exec(grant);
      if (!match) return { valid: false, expired: false };
      const exp = Number(match[1]);
      const given = Buffer.from(match[2]!, 'base64url');
      if (given.length !== 32 || !timingSafeEqual(given, mac(scope, exp))) return { valid: false, expired: false };
      return exp > nowSeconds ? { valid: true, exp } : { valid: false, expired: true };
    },
  };
}
