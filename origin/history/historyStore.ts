// Message history: what lets a reconnecting client recover everything it missed. One interface, so the
// bounded in-memory store (one instance) and a shared store (several origin instances) are swappable.

/** The message envelope every transport carries. */
export interface ChannelMessage {
  id: string;
  channel: string;
  data: unknown;
  /** Milliseconds since the epoch, when the origin accepted the message. */
  ts: number;
}

export interface AppendResult {
  message: ChannelMessage;
  /**
   * The id of the message before this one on the channel, for GRIP `prev-id`: "0" for a channel's
   * first message, so a subscriber that joined an empty channel (prev-id "0") can detect a gap too.
   */
  prevId: string | undefined;
}

export class HistoryConflictError extends Error {
  override name = 'HistoryConflictError';
}

export interface HistoryStore {
  /** Stores a message and assigns the next id (or checks that `requestedId` is above the last one). */
  append(channel: string, data: unknown, requestedId?: string): Promise<AppendResult>;
  /** Retained messages with an id above `afterId` (all retained ones when undefined), oldest first. */
  readAfter(channel: string, afterId: string | undefined, limit?: number): Promise<ChannelMessage[]>;
  /** The newest id on the channel, or undefined when nothing was ever published there. */
  lastId(channel: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Ids are decimal sequence numbers per channel; this is the one place that knows. */
export function compareMessageIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The position of a channel with no messages yet: ids start above it. */
export const NO_MESSAGES_ID = '0';

export function isMessageId(value: string): boolean {
  return /^(0|[1-9]\d{0,17})$/.test(value);
}
