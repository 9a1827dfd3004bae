// The WebSocket session state lives in the proxy's connection meta, and a request with a valid Grip-Sig
// comes back with whatever meta it carries. A valid signature says the request came through a proxy
// holding the key, not that the meta is the origin's own: locally the key is public, and a proxy
// forwards what it is given. So the origin seals what it stores: a MAC over the state, bound to the
// connection, under a key only origins have. State whose seal does not verify is never acted on.
// Barrier pings carry a MAC too, so a client cannot answer a barrier it was never sent.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export interface WsStateSeal {
  /** The seal of a connection's state (its meta values, in a fixed order). */
  sign(connectionId: string, values: readonly string[]): string;
  verify(connectionId: string, values: readonly string[], seal: string): boolean;
  /** The payload of barrier `barrier`'s ping on this connection (at most 125 bytes, as a ping's may be). */
  barrierPayload(connectionId: string, barrier: number): string;
  /** The barrier a pong's payload names, when it is one this origin sent to this connection. */
  barrierOf(connectionId: string, payload: string): number | undefined;
}

/** The prefix of a barrier ping's payload; the pong echoes the whole payload. */
export const BARRIER_PREFIX = 'ffsub:';
const BARRIER = /^ffsub:(\d{1,9})\.([A-Za-z0-9_-]{16})$/;
const SEAL = /^[A-Za-z0-9_-]{22}$/;

function derive(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, '', `fanout-forward ${purpose} v1`, 32));
}

export function createWsStateSeal(secret: string): WsStateSeal {
  const stateKey = derive(secret, 'ws state');
  const barrierKey = derive(secret, 'ws barrier');
  const stateMac = (connectionId: string, values: readonly string[]) =>
    createHmac('sha256', stateKey).update([connectionId, ...values].join('\n')).digest().subarray(0, 16);
  const barrierMac = (connectionId: string, barrier: number) =>
    createHmac('sha256', barrierKey).update(`${connectionId}\n${barrier}`).digest().subarray(0, 12);
  return {
    sign: (connectionId, values) => stateMac(connectionId, values).toString('base64url'),
    verify(connectionId, values, seal) {
      if (!SEAL.test(seal)) return false;
      return timingSafeEqual(Buffer.from(seal, 'base64url'), stateMac(connectionId, values));
    },
    barrierPayload: (connectionId, barrier) => `${BARRIER_PREFIX}${barrier}.${barrierMac(connectionId, barrier).toString('base64url')}`,
    barrierOf(connectionId, payload) {
      const match = BARRIER.exec(payload);
      if (!match) return undefined;
      const barrier = Number(match[1]);
      return timingSafeEqual(Buffer.from(match[2]!, 'base64url'), barrierMac(connectionId, barrier)) ? barrier : undefined;
    },
  };
}

/** A connection's barrier payloads under the seal (see wsSubscribe.ts BarrierPayloads). */
export function sealedBarriers(seal: WsStateSeal, connectionId: string): { payload(barrier: number): string; of(content: Buffer | undefined): number | undefined } {
  return {
    payload: (barrier) => seal.barrierPayload(connectionId, barrier),
    of: (content) => (content === undefined ? undefined : seal.barrierOf(connectionId, content.toString('latin1'))),
  };
}
