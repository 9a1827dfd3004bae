// The default history store: in this process's memory, bounded per channel by count and age, in
// total by bytes (HISTORY_MAX_BYTES), and forgetting channels idle for HISTORY_CHANNEL_IDLE_SECONDS.
// Everything here is synchronous under the hood, so each operation is atomic with respect to the
// others (the Redis store gets the same from Lua scripts).
//
// Every bound behaves like a retention trim, so a client never loses messages silently:
// - messages dropped (count, age, or the byte bound, oldest first across all channels) raise their
//   channel's floor: a client resuming from before it is told `expired`;
// - a channel record dropped (idle, or the byte bound once no messages are left to drop) takes its
//   position with it: the channel's next use starts a new epoch above every id issued before, and a
//   client resuming from the old epoch is told `restarted`.
// Under the byte bound, records that hold no message (created by reads of channels nobody publishes
// to, which anyone can make) are dropped before any message, least recently used first.
import type { HistoryConfig } from './historyConfig.ts';
import { compareMessageIds, START_ID } from '../../protocol/index.ts';
import {
  DEFAULT_IN_FLIGHT_TTL_MS,
  emptyPosition,
  epochBaseAt,
  HistoryConflictError,
  nextId,
  requestedIdCeilingAt,
  type AppendedMessage,
  type AppendInput,
  type AppendResult,
  type ChannelAppendResult,
  type ChannelMessage,
  type ChannelPosition,
  type HistoryStore,
} from './historyStore.ts';

interface StoredMessage {
  message: ChannelMessage;
  bytes: number;
}

interface ChannelLog {
  channel: string;
  epochId: string;
  lastId: string;
  floorId: string;
  messages: StoredMessage[];
  /** Bytes of the retained messages. */
  bytes: number;
  lastUsedMs: number;
  /** Filter user -> deadline (ms) of a WebSocket subscribe in progress. */
  subscribing: Map<string, number>;
  /** Ids whose publish has not reached every proxy yet -> until when they count so (DEFAULT_IN_FLIGHT_TTL_MS). */
  inFlight: Map<string, number>;
  /** Appends wait while this is in the future (see gateAppends), or until `opened` resolves. */
  gatedUntil: number;
  /** No new gate before this (see HistoryStore.gateAppends: gates are bounded per channel). */
  nextGateAt: number;
  opened?: Promise<void>;
  open?: () => void;
}

/** What a message costs beyond its data's JSON (envelope, id, bookkeeping), as counted for the byte bound. */
export const MESSAGE_OVERHEAD_BYTES = 96;
/** What a channel record costs beyond its name. */
export const CHANNEL_OVERHEAD_BYTES = 256;

export type MemoryHistoryLimits = Pick<HistoryConfig, 'maxMessagesPerChannel' | 'maxAgeMs' | 'channelIdleMs'> &
  Partial<Pick<HistoryConfig, 'maxBytes'>> & {
    /** How long a publish counts as in flight at most, from its append (DEFAULT_IN_FLIGHT_TTL_MS). */
    inFlightTtlMs?: number;
  };

/** Byte use of the store, for tests and metrics. */
export interface MemoryHistoryUsage {
  bytes: number;
  channels: number;
  messages: number;
}

export interface MemoryHistoryStore extends HistoryStore {
  usage(): MemoryHistoryUsage;
}

export function createMemoryHistoryStore(limits: MemoryHistoryLimits, now: () => number = Date.now): MemoryHistoryStore {
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const inFlightTtlMs = limits.inFlightTtlMs ?? DEFAULT_IN_FLIGHT_TTL_MS;
  /** Least recently used first (every use moves a channel to the end). */
  const channels = new Map<string, ChannelLog>();
  /** The channels holding no message, least recently used first: the first to go under the byte bound. */
  const empty = new Map<string, ChannelLog>();
  /**
   * Every retained message in append order across channels (plus entries for messages dropped since,
   * skipped when reached): the byte bound drops from its head. `head` is the next entry to look at.
   */
  let appendOrder: Array<{ log: ChannelLog; id: string }> = [];
  let head = 0;
  let totalBytes = 0;
  let totalMessages = 0;
  /** The highest id this store issued: a new epoch starts at least here, so ids never go backwards. */
  let highestIssued = '0';

  const recordBytes = (channel: string) => CHANNEL_OVERHEAD_BYTES + channel.length;
  const isCurrent = (log: ChannelLog) => channels.get(log.channel) === log;

  /** Drops the first `count` retained messages of a channel, raising its floor past them. */
  const dropOldest = (log: ChannelLog, count: number): void => {
    if (count <= 0) return;
    const dropped = log.messages.splice(0, count);
    const newestDropped = dropped.at(-1)!.message.id;
    if (compareMessageIds(newestDropped, log.floorId) > 0) log.floorId = newestDropped;
    const bytes = dropped.reduce((sum, m) => sum + m.bytes, 0);
    log.bytes -= bytes;
    totalBytes -= bytes;
    totalMessages -= dropped.length;
    if (log.messages.length === 0) empty.set(log.channel, log);
  };

  const prune = (log: ChannelLog): void => {
    const oldestKept = now() - limits.maxAgeMs;
    let drop = Math.max(0, log.messages.length - limits.maxMessagesPerChannel);
    while (drop < log.messages.length && log.messages[drop]!.message.ts < oldestKept) drop++;
    dropOldest(log, drop);
  };

  /** The ids still in flight on a channel (those past their TTL are dropped). */
  const inFlightOf = (log: ChannelLog, at: number): Map<string, number> => {
    for (const [id, until] of log.inFlight) if (until <= at) log.inFlight.delete(id);
    return log.inFlight;
  };

  /** Whether a record can go without breaking anything in progress on it (a subscribe, a publish, a gate). */
  const removable = (log: ChannelLog, at: number): boolean => {
    if (inFlightOf(log, at).size > 0 || log.gatedUntil > at) return false;
    for (const deadline of log.subscribing.values()) if (deadline > at) return false;
    return true;
  };

  const removeChannel = (log: ChannelLog): void => {
    channels.delete(log.channel);
    empty.delete(log.channel);
    totalBytes -= log.bytes + recordBytes(log.channel);
    totalMessages -= log.messages.length;
  };

  /**
   * Channels unused for the idle time are forgotten (least recently used first, so this stops early).
   * Subscribes, gates and publishes all use their channel, so nothing is in progress on an idle one.
   */
  const forgetIdle = (): void => {
    const cutoff = now() - limits.channelIdleMs;
    for (const log of channels.values()) {
      if (log.lastUsedMs > cutoff) break;
      removeChannel(log);
    }
  };

  /** Entries for messages that are gone are skipped at the head, and swept out when they are most of the list. */
  const compactAppendOrder = (): void => {
    const entries = appendOrder.length - head;
    if (entries < 1024 || entries < 2 * totalMessages) return;
    appendOrder = appendOrder.slice(head).filter(({ log, id }) => isCurrent(log) && compareMessageIds(id, log.floorId) > 0);
    head = 0;
  };

  /** Within the byte bound again: empty records first (least recently used), then the oldest messages. */
  const enforceByteBound = (inUse: ChannelLog): void => {
    if (totalBytes <= maxBytes) return;
    const at = now();
    for (const log of empty.values()) {
      if (totalBytes <= maxBytes) return;
      if (log !== inUse && removable(log, at)) removeChannel(log);
    }
    while (totalBytes > maxBytes && head < appendOrder.length) {
      const { log, id } = appendOrder[head++]!;
      if (isCurrent(log) && log.messages[0]?.message.id === id) dropOldest(log, 1);
    }
    if (head > 4096 && head * 2 > appendOrder.length) {
      appendOrder = appendOrder.slice(head);
      head = 0;
    }
  };

  /** Where a new epoch would start now: above every id this store issued, and the clock's base. */
  const nextEpochBase = (at: number): string => {
    const clockBase = epochBaseAt(at);
    return compareMessageIds(highestIssued, clockBase) > 0 ? highestIssued : clockBase;
  };

  /** The channel's record when it has one (used now: it moves to the most recent end), without creating it. */
  const existingLog = (channel: string): ChannelLog | undefined => {
    forgetIdle();
    const log = channels.get(channel);
    if (!log) return undefined;
    // Most recently used goes last.
    channels.delete(channel);
    channels.set(channel, log);
    if (empty.delete(channel)) empty.set(channel, log);
    log.lastUsedMs = now();
    prune(log);
    return log;
  };

  /**
   * The channel's record, created with a fresh epoch when it has none: by appends and subscribes. A
   * read creates nothing (anyone can read any name): a channel without a record is at position 0,
   * as one whose epoch holds no message yet (see positionOf), so nothing depends on whether it has one.
   */
  const logOf = (channel: string): ChannelLog => {
    const existing = existingLog(channel);
    if (existing) return existing;
    const at = now();
    const epochId = nextEpochBase(at);
    const log: ChannelLog = {
        channel,
        epochId,
        lastId: epochId,
        floorId: epochId,
        messages: [],
        bytes: 0,
        lastUsedMs: at,
        subscribing: new Map(),
        inFlight: new Map(),
        gatedUntil: 0,
        nextGateAt: 0,
      };
    channels.set(channel, log);
    empty.set(channel, log);
    totalBytes += recordBytes(channel);
    enforceByteBound(log);
    return log;
  };

  /** Resolves once appends on the channel may proceed. */
  const gate = async (log: ChannelLog): Promise<void> => {
    while (log.gatedUntil > now() && log.opened) {
      const wait = log.gatedUntil - now();
      await Promise.race([log.opened, new Promise((r) => setTimeout(r, Math.max(1, wait)))]);
    }
  };

  /** An epoch with no message yet is at START_ID (see ChannelPosition). */
  const positionOf = (log: ChannelLog): ChannelPosition =>
    log.lastId === log.epochId ? emptyPosition(log.epochId) : { lastId: log.lastId, floorId: log.floorId, epochId: log.epochId };

  const activeSubscribers = (log: ChannelLog): string[] => {
    const at = now();
    for (const [user, deadline] of log.subscribing) if (deadline <= at) log.subscribing.delete(user);
    return [...log.subscribing.keys()];
  };

  const sameData = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b ?? null);
  const dataBytes = (input: AppendInput) => Buffer.byteLength(input.dataJson ?? JSON.stringify(input.data ?? null));

  /**
   * Stores `inputs` on the channel now, all or none: every input is checked before anything is
   * stored (a HistoryConflictError leaves the channel as it was).
   */
  const appendNow = (log: ChannelLog, channel: string, inputs: AppendInput[]): AppendResult => {
    const ts = now();
    const ceiling = requestedIdCeilingAt(ts);
    const stored: StoredMessage[] = [];
    const results: AppendedMessage[] = [];
    let last = log.lastId;
    // Decide every input first: nothing is stored unless all of them can be.
    inputs.forEach((input, index) => {
      if (input.id !== undefined && compareMessageIds(input.id, last) <= 0) {
        const earlier = [...log.messages, ...stored].find((m) => m.message.id === input.id)?.message;
        if (earlier && sameData(earlier.data, input.data)) {
          results.push({ message: earlier, prevId: earlier.id, duplicate: true });
          return;
        }
        throw new HistoryConflictError(
          earlier
            ? `id ${input.id} on channel ${channel} is already stored with other data`
            : `id ${input.id} is not above the last id ${last} on channel ${channel}`,
          index,
        );
      }
      if (input.id !== undefined && compareMessageIds(input.id, ceiling) > 0) {
        throw new HistoryConflictError(`id ${input.id} is above the highest id a publisher may request now (${ceiling})`, index);
      }
      const id = input.id ?? nextId(last);
      const message: ChannelMessage = { id, channel, data: input.data ?? null, ts };
      const bytes = dataBytes(input) + id.length + MESSAGE_OVERHEAD_BYTES;
      // The first message of an epoch follows position 0, where a channel with no message is.
      results.push({ message, prevId: last === log.epochId ? START_ID : last, duplicate: false });
      stored.push({ message, bytes });
      last = id;
    });
    log.messages.push(...stored);
    log.lastId = last;
    if (compareMessageIds(last, highestIssued) > 0) highestIssued = last;
    for (const { message, bytes } of stored) {
      log.inFlight.set(message.id, ts + inFlightTtlMs);
      log.bytes += bytes;
      totalBytes += bytes;
      appendOrder.push({ log, id: message.id });
    }
    totalMessages += stored.length;
    if (log.messages.length > 0) empty.delete(channel);
    prune(log);
    enforceByteBound(log);
    compactAppendOrder();
    return { messages: results, skipUsers: stored.length > 0 ? activeSubscribers(log) : [] };
  };

  return {
    async append(channel, inputs) {
      await gate(logOf(channel));
      return appendNow(logOf(channel), channel, inputs);
    },

    async appendChannels(appends) {
      return appends.map(({ channel, segments }): ChannelAppendResult => {
        const log = logOf(channel);
        const at = now();
        if (log.gatedUntil > at && log.opened) return { status: 'gated', retryInMs: log.gatedUntil - at };
        return {
          status: 'done',
          segments: segments.map((inputs) => {
            try {
              return { ok: true, result: appendNow(log, channel, inputs) };
            } catch (error) {
              if (error instanceof HistoryConflictError) return { ok: false, error };
              throw error;
            }
          }),
        };
      });
    },

    async read(channel, afterId, limit) {
      const log = existingLog(channel);
      if (!log) return { position: emptyPosition(nextEpochBase(now())), messages: [] };
      const after = afterId === undefined ? log.messages : log.messages.filter((m) => compareMessageIds(m.message.id, afterId) > 0);
      return { position: positionOf(log), messages: after.slice(0, limit).map((m) => m.message) };
    },

    async landed(channel, ids) {
      const log = channels.get(channel);
      if (log) for (const id of ids) log.inFlight.delete(id);
    },

    async landedChannels(entries) {
      for (const { channel, ids } of entries) {
        const log = channels.get(channel);
        if (log) for (const id of ids) log.inFlight.delete(id);
      }
    },

    async stillInFlight(channel, ids) {
      const log = channels.get(channel);
      if (!log) return [];
      const inFlight = inFlightOf(log, now());
      return ids.filter((id) => inFlight.has(id));
    },

    async beginSubscribe(channel, user, ttlMs, maxConcurrent, staleMs) {
      const log = logOf(channel);
      let others = activeSubscribers(log).filter((u) => u !== user);
      if (others.length >= maxConcurrent && staleMs !== undefined) {
        // Renewed last at (deadline - ttl): the ones without progress for staleMs make room.
        const renewedBefore = now() - staleMs;
        for (const other of others) if (log.subscribing.get(other)! - ttlMs < renewedBefore) log.subscribing.delete(other);
        others = activeSubscribers(log).filter((u) => u !== user);
      }
      if (others.length >= maxConcurrent) return { busy: true };
      log.subscribing.set(user, now() + ttlMs);
      return { busy: false, position: positionOf(log), inFlight: [...inFlightOf(log, now()).keys()] };
    },

    async settleSubscribe(channel, user, expectedLastId) {
      const log = existingLog(channel);
      const deadline = log?.subscribing.get(user);
      if (!log || deadline === undefined || deadline <= now()) {
        log?.subscribing.delete(user);
        return { outcome: 'lapsed' };
      }
      const lastId = positionOf(log).lastId;
      if (expectedLastId !== undefined && lastId !== expectedLastId) return { outcome: 'behind', lastId };
      log.subscribing.delete(user);
      return { outcome: 'settled', lastId };
    },

    async gateAppends(channel, ttlMs, cooldownMs) {
      const log = logOf(channel);
      const at = now();
      if (log.gatedUntil > at) return 'joined';
      if (at < log.nextGateAt) return 'cooling';
      log.gatedUntil = at + ttlMs;
      log.nextGateAt = at + ttlMs + cooldownMs;
      log.opened = new Promise<void>((resolve) => (log.open = resolve));
      return 'gated';
    },

    async ungateAppends(channel) {
      const log = channels.get(channel);
      if (!log) return;
      log.gatedUntil = 0;
      log.open?.();
      delete log.opened;
      delete log.open;
    },

    async cancelSubscribe(channel, user) {
      channels.get(channel)?.subscribing.delete(user);
    },

    async ping() {},

    async close() {
      channels.clear();
      empty.clear();
      appendOrder = [];
      head = 0;
      totalBytes = 0;
      totalMessages = 0;
    },

    usage() {
      return { bytes: totalBytes, channels: channels.size, messages: totalMessages };
    },
  };
}
