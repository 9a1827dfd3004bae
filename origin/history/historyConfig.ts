// What the history stores keep, and for how long (read from the environment by config/originConfig.ts).
export interface HistoryConfig {
  maxMessagesPerChannel: number;
  maxAgeMs: number;
  /**
   * How long a channel's position (its last id and epoch) is kept after its last use. A channel
   * forgotten after that starts a new epoch: its ids still never go backwards, but a client resuming
   * from an id of the old epoch is told continuity was lost.
   */
  channelIdleMs: number;
  /**
   * The in-memory store's bound on everything it keeps, all channels together (each message counted
   * as its JSON's UTF-8 size plus a fixed overhead). Past it the oldest messages go first, as a
   * retention trim would drop them. The Redis store leaves this to Redis's own `maxmemory`.
   */
  maxBytes: number;
}
