// Message history: what lets a reconnecting client recover everything it missed, and what tells it
// honestly when it cannot. One interface, so the bounded in-memory store (one origin instance) and
// the Redis store (several instances) are swappable.
//
// Ids are positions: decimal, increasing per channel. Each channel's sequence starts at an *epoch
// base* taken from the clock (milliseconds x 1000) when the channel's record is created, so after an
// origin restart (memory store), a Redis flush or restore, or an idle channel forgotten, the new
// sequence starts above every id issued before: ids never go backwards. (Comparing and validating ids
// is the wire contract's: protocol/messageIds.ts.)
import { START_ID, type StoredEnvelope } from '../../protocol/index.ts';

/** The message envelope every transport carries. */
export type ChannelMessage = StoredEnvelope;

/**
 * Where a channel stands, read in one consistent snapshot. A channel whose epoch holds no message
 * yet (never published, forgotten, or reset) is at START_ID ("0"), lastId and floorId alike, and the
 * first message of an epoch follows "0" (its prevId): holds and subscribers at "0" take it directly.
 * So a read of a channel nobody published to creates nothing: there is no position to keep.
 */
export interface ChannelPosition {
  /** The newest id; START_ID while the epoch has no message yet. */
  lastId: string;
  /** Every message with an id above this one is retained; ids at or below it may be gone. */
  floorId: string;
  /** The base of the current epoch (or of the one an append would start now): every id of an earlier epoch is at or below it. */
  epochId: string;
}

/** The position of a channel whose epoch holds no message yet. */
export function emptyPosition(epochId: string): ChannelPosition {
  return { lastId: START_ID, floorId: START_ID, epochId };
}

export interface AppendInput {
  data: unknown;
  /** `data` as JSON text, when the caller serialised it already (it must be exactly JSON.stringify(data ?? null)). */
  dataJson?: string;
  /** A requested id (idempotent retries): above the last id, or equal to a retained message's id with the same data. */
  id?: string;
}

export interface AppendedMessage {
  message: ChannelMessage;
  /** The position before this message, for GRIP `prev-id` (START_ID for the first of an epoch). */
  prevId: string;
  /**
   * True when the requested id was already stored with the same data (a retry): it was not stored
   * again and must not be published again.
   */
  duplicate: boolean;
}

export interface AppendResult {
  messages: AppendedMessage[];
  /**
   * WebSocket connections (their filter user names) still completing a subscribe on the channel:
   * the live WebSocket items of these messages must skip them (they get them in their catch-up).
   */
  skipUsers: string[];
}

/** One channel's appends in a batch: each segment (one caller's inputs) is stored all or none, in order. */
export interface ChannelAppend {
  channel: string;
  segments: AppendInput[][];
}

/** A segment stored, or refused whole (a conflict: nothing of it stored; the next segment goes on). */
export type SegmentAppendResult = { ok: true; result: AppendResult } | { ok: false; error: HistoryConflictError };

export type ChannelAppendResult =
  | { status: 'done'; segments: SegmentAppendResult[] }
  /** The channel's appends are held (gateAppends): nothing was stored; try again in `retryInMs`. */
  | { status: 'gated'; retryInMs: number }
  /** The store failed for this channel's call (see HistoryUnavailableError.maybeStored). */
  | { status: 'failed'; error: HistoryUnavailableError };

export interface ReadResult {
  position: ChannelPosition;
  /** Retained messages with an id above the requested one, oldest first, at most `limit`. */
  messages: ChannelMessage[];
}

export type SubscribeStart =
  | {
      busy: false;
      position: ChannelPosition;
      /** Ids at or below position.lastId whose publish has not reached every proxy yet. */
      inFlight: string[];
    }
  /** Too many subscribes in progress on the channel already; nothing was recorded. */
  | { busy: true };

export type SettleResult =
  /** Skipping ended; every message up to `lastId` skipped the connection, every later one reaches it live. */
  | { outcome: 'settled'; lastId: string }
  /** Messages were appended since `expectedLastId` (catch up on them, then settle again); nothing changed. */
  | { outcome: 'behind'; lastId: string }
  /** The subscribe is no longer in progress (timed out or cancelled): later messages may have reached it live. */
  | { outcome: 'lapsed' };

export type GateOutcome = 'gated' | 'joined' | 'cooling';

/** The request itself cannot be stored (a requested id that conflicts); nothing of it was stored. */
export class HistoryConflictError extends Error {
  override name = 'HistoryConflictError';
  constructor(
    message: string,
    /** Index of the offending input within its append call. */
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * The store cannot be reached (Redis down): nothing was stored, unless `maybeStored`: the append
 * reached the store and its answer was lost with the connection, and no retry got it; what it stored
 * (if anything) is unknown.
 */
export class HistoryUnavailableError extends Error {
  override name = 'HistoryUnavailableError';
  readonly maybeStored: boolean;
  constructor(message: string, options: { cause?: unknown; maybeStored?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.maybeStored = options.maybeStored ?? false;
  }
}

export interface HistoryStore {
  /**
   * Stores messages on one channel, all or none, assigning the next ids (or checking requested
   * ones). Their publishes count as in flight until `landed` is called for them, or for the in-flight TTL at most.
   */
  append(channel: string, inputs: AppendInput[]): Promise<AppendResult>;
  /**
   * Appends on several channels at once (one round trip where the store allows): per channel, its
   * segments in order, each as `append` would store it, except that a gated channel is reported
   * (`gated`) instead of waited for, and a conflict fails only its own segment. Results in input
   * order; one entry per channel (a channel appears at most once).
   */
  appendChannels(appends: ChannelAppend[]): Promise<ChannelAppendResult[]>;
  /** The position and the retained messages above `afterId` (all retained ones when undefined). */
  read(channel: string, afterId: string | undefined, limit: number): Promise<ReadResult>;
  /**
   * The publishes of these ids reached every proxy (or were refused, or never sent): no longer in
   * flight. Not called for a publish whose request a proxy did not answer: it stays in flight until
   * its TTL (DEFAULT_IN_FLIGHT_TTL_MS), since the proxy may still deliver it.
   */
  landed(channel: string, ids: string[]): Promise<void>;
  /** `landed` for several channels at once (one round trip where the store allows). */
  landedChannels(entries: Array<{ channel: string; ids: string[] }>): Promise<void>;
  /** Ids among `ids` still in flight. */
  stillInFlight(channel: string, ids: string[]): Promise<string[]>;
  /**
   * A WebSocket connection (`user`) starts subscribing (or renews its subscribe: every catch-up round
   * does): from now until `settleSubscribe`, every append on the channel names it in `skipUsers`.
   * Returns the position at this moment and the publishes still in flight up to it; `busy` when
   * `maxConcurrent` subscribes are in progress already. When full, subscribes that made no progress
   * (no renewal) for `staleMs` make room: a client that never answers its barriers cannot hold a slot.
   */
  beginSubscribe(channel: string, user: string, ttlMs: number, maxConcurrent: number, staleMs?: number): Promise<SubscribeStart>;
  /**
   * Ends the skipping for `user` if the channel's last id is still `expectedLastId` (undefined: in
   * any case), so no message appended since can have skipped it unnoticed (see SettleResult).
   */
  settleSubscribe(channel: string, user: string, expectedLastId: string | undefined): Promise<SettleResult>;
  /**
   * Holds every append on the channel (they wait, then proceed) until `ungateAppends` or `ttlMs`:
   * a subscribe that cannot catch up with a busy channel makes room for one quiet round with it.
   * Bounded, since a client can ask for it: a channel is gated at most once per `ttlMs + cooldownMs`
   * (from the start of one gate to the start of the next), so appends are held at most that share of
   * the time whatever subscribers do. `joined`: a gate is in place already (the caller is covered by it
   * but must not end it); `cooling`: refused, nothing is held.
   */
  gateAppends(channel: string, ttlMs: number, cooldownMs: number): Promise<GateOutcome>;
  ungateAppends(channel: string): Promise<void>;
  /** Drops a subscribe in progress (unsubscribed or disconnected first). */
  cancelSubscribe(channel: string, user: string): Promise<void>;
  /** Resolves when the store can be used now (readiness); HistoryUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How long a publish counts as in flight at most, from its append: a publish whose request the proxy
 * never answered is left to this (the proxy may still deliver it), and an origin that stopped between
 * storing and publishing holds nobody up for longer. The Redis store's default (inFlightTtlMs) too.
 */
export const DEFAULT_IN_FLIGHT_TTL_MS = 60_000;

/** Ids per millisecond of clock the epoch base leaves room for before it could catch up. */
export const IDS_PER_MS = 1000;

/** The base of an epoch created at `nowMs`: above every id an earlier epoch can have issued. */
export function epochBaseAt(nowMs: number): string {
  return (BigInt(Math.floor(nowMs)) * BigInt(IDS_PER_MS)).toString();
}

/**
 * The highest id a publisher may request at `nowMs`: requested ids stay within the clock-derived
 * range, so the next epoch (created later) still starts above them.
 */
export function requestedIdCeilingAt(nowMs: number): string {
  return (BigInt(Math.floor(nowMs)) * BigInt(IDS_PER_MS) + BigInt(IDS_PER_MS - 1)).toString();
}

export function nextId(id: string): string {
  return (BigInt(id) + 1n).toString();
}
