// fanout-forward/client: the one client for browsers and Node. It carries the client's side of the
// delivery guarantee: every message once, in order, on every transport (WebSocket, SSE, NDJSON
// streaming, long-poll); lost continuity reported (`reset`), never silent. See client/README.md.
export { createClient, type ClientConnectionInfo, type FanoutClient } from './api/createClient.ts';
export { DEFAULT_FALLBACK, type ClientOptions } from './api/clientOptions.ts';
export { PublishError, SubscriptionError } from './api/errors.ts';
export { PresenceQueryError } from './transports/presenceQuery.ts';
export type { Unlisten } from './api/listeners.ts';
export type {
  Message,
  PresenceOptions,
  Recovery,
  ResetNotice,
  StateChange,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
  SubscriptionTestingHooks,
  TokenSource,
} from './api/subscription.ts';
export type { RecoveryReason, SubscriptionStateName, SubscriptionStats } from './core/clientMachine.ts';
export type { EventSourceConstructor, FetchLike, RequestInitLike, ResponseLike, StreamReaderLike, WebSocketConstructor } from './transports/runtimeApis.ts';
export type {
  ContinuityReset,
  Envelope,
  Occupancy,
  PresenceEvent,
  PresenceInfo,
  PresenceMember,
  PresenceSnapshot,
  ResetReason,
  TransportName,
} from '../protocol/index.ts';
