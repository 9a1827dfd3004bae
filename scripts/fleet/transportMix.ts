// The share of a fleet's members on each transport, the same for the fan-out benchmark's mix and the
// soak's default split, so both load the stack the way the README's figures describe.
import type { TransportName } from '../../protocol/index.ts';

/**
 * Mostly streams and WebSockets, a few long-polls. A long-poll is the fallback transport and the costly
 * one: every delivery ends its request, and the next poll goes through the proxy to the origin again (a
 * stream costs the proxy a few tens of microseconds per delivery, a poll milliseconds).
 */
export const TRANSPORT_MIX: Readonly<Record<TransportName, number>> = { sse: 0.45, websocket: 0.35, stream: 0.18, poll: 0.02 };
