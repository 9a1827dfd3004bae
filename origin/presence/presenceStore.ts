// Presence and occupancy: who is connected to each channel, kept as leases. Every counted connection
// (a WebSocket subscription, or a stream/long-poll subscription's lease taken through the HTTP lease
// API) holds a lease on the channel that its holder renews (a WebSocket whenever the proxy calls the
// origin for it, which its Keep-Alive-Interval makes at least that often; a client's stream by a PUT);
// a lease not renewed in time expires, so a connection that vanished without a word (an origin
// restart, a proxy cut) leaves within a bound. A connection may carry a member (its token's `sub`,
// with the token's `info` claim); a member with several connections is one member.
//
// One interface for the in-memory store (one origin) and the Redis store (several origins agree on
// members and occupancy), with one contract test run against both (presenceStoreContract.ts). Every
// operation reports the changes it made (channel_occupied, member_added, member_removed,
// channel_vacated): whoever made a change is the one that announces it, so each is announced once,
// also when a lease expires with several origins sweeping (claiming expired leases is atomic).
import type { Occupancy, PresenceInfo, PresenceMember, TransportName } from '../../protocol/index.ts';

export type PresenceChangeType = 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed';

/** Why a connection left: it said so (unsubscribe, close, disconnect, a lease DELETE), or its lease lapsed. */
export type LeaveReason = 'left' | 'expired';

export interface PresenceChange {
  type: PresenceChangeType;
  channel: string;
  /** member_added, member_removed */
  clientId?: string;
  info?: PresenceInfo;
  /** member_removed, channel_vacated */
  reason?: LeaveReason;
  /** Milliseconds since the epoch (the store's clock: Redis's own with REDIS_URL). */
  ts: number;
}

export interface LeaseMember {
  clientId: string;
  info?: PresenceInfo;
}

/** A connection's lease on one channel, taken or renewed. */
export interface LeaseTouch {
  channel: string;
  /** The connection's key on the channel: `ws:<filter user>` for a WebSocket, `lease:<lease id>` for a client's HTTP lease. */
  connection: string;
  transport: TransportName;
  /** Present: the connection is (or stays) in the channel's presence as this member; absent: counted only. */
  member?: LeaseMember;
}

export interface LeaseRelease {
  channel: string;
  connection: string;
}

export interface TouchOutcome {
  changes: PresenceChange[];
  /** Touches refused because their channel holds PresenceLimits.maxConnectionsPerChannel leases already. */
  refused: LeaseTouch[];
}

export interface PresencePage {
  /** Members after this clientId (in the order of their UTF-8 bytes). */
  after?: string;
  limit: number;
}

export interface PresenceRead {
  occupancy: Occupancy;
  members: PresenceMember[];
  /** The `after` of the next page, when more members follow. */
  next?: string;
  /** Expired leases the read claimed (announce them like a sweep's). */
  changes: PresenceChange[];
}

export interface PresenceLimits {
  /** Leases one channel may hold (members included); a new lease past it is refused. */
  maxConnectionsPerChannel: number;
}

export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = { maxConnectionsPerChannel: 50_000 };

export interface PresenceStore {
  /**
   * Takes or renews each lease until `ttlMs` from now: a new connection is counted (the channel's
   * first: channel_occupied), a new member added (member_added); a renewal changes nothing but the
   * lease's end, its transport or its member (a member it no longer carries may be removed). Touches
   * of one channel are applied in order.
   */
  touch(touches: LeaseTouch[], ttlMs: number): Promise<TouchOutcome>;
  /** Ends leases (member_removed, channel_vacated as they follow); an unknown one is a no-op. */
  release(releases: LeaseRelease[]): Promise<PresenceChange[]>;
  /** The channel's occupancy and a page of its members (expired leases claimed first). */
  read(channel: string, page: PresencePage): Promise<PresenceRead>;
  /** Claims the expired leases of every channel due (at most `maxChannels` of them in one call). */
  sweep(maxChannels?: number): Promise<PresenceChange[]>;
  close(): Promise<void>;
}

/** Thrown when the store cannot be reached (Redis down): nothing was changed, or what was is unknown. */
export class PresenceUnavailableError extends Error {
  override name = 'PresenceUnavailableError';
}
