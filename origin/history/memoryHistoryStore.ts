// The default history store: per channel, bounded by count and by age, in this process's memory.
// Everything here is synchronous under the hood, so each operation is atomic with respect to the
// others (the Redis store gets the same from Lua scripts).
import type { HistoryConfig } from '../config/originConfig.ts';
import {
  compareMessageIds,
  epochBaseAt,
  HistoryConflictError,
  nextId,
  requestedIdCeilingAt,
  type AppendedMessage,
  type ChannelMessage,
  type ChannelPosition,
  type HistoryStore,
} from './historyStore.ts';

interface ChannelLog {
  epochId: string;
  lastId: string;
  floorId: string;
  messages: ChannelMessage[];
  /** Filter user -> deadline (ms) of a WebSocket subscribe in progress. */
  subscribing: Map<string, number>;
  /** Ids whose publish has not reached every proxy yet. */
  inFlight: Set<string>;
  /** Appends wait while this is in the future (see gateAppends), or until `opened` resolves. */
  gatedUntil: number;
  opened?: Promise<void>;
  open?: () => void;
}

export function createMemoryHistoryStore(limits: HistoryConfig, now: () => number = Date.now): HistoryStore {
  const channels = new Map<string, ChannelLog>();

  const prune = (log: ChannelLog): void => {
    const oldestKept = now() - limits.maxAgeMs;
    let drop = Math.max(0, log.messages.length - limits.maxMessagesPerChannel);
    while (drop < log.messages.length && log.messages[drop]!.ts < oldestKept) drop++;
    if (drop === 0) return;
    const newestDropped = log.messages[drop - 1]!.id;
    if (compareMessageIds(newestDropped, log.floorId) > 0) log.floorId = newestDropped;
    log.messages.splice(0, drop);
  };

  /** The channel's record, created with a fresh epoch on first use (reads too: positions must be stable). */
  const logOf = (channel: string): ChannelLog => {
    let log = channels.get(channel);
    if (!log) {
      const epochId = epochBaseAt(now());
      log = { epochId, lastId: epochId, floorId: epochId, messages: [], subscribing: new Map(), inFlight: new Set(), gatedUntil: 0 };
      channels.set(channel, log);
    }
    prune(log);
    return log;
  };

  /** Resolves once appends on the channel may proceed. */
  const gate = async (log: ChannelLog): Promise<void> => {
    while (log.gatedUntil > now() && log.opened) {
      const wait = log.gatedUntil - now();
      await Promise.race([log.opened, new Promise((r) => setTimeout(r, Math.max(1, wait)))]);
    }
  };

  const positionOf = (log: ChannelLog): ChannelPosition => ({
    lastId: log.lastId,
    floorId: log.floorId,
    epochId: log.epochId,
  });

  const activeSubscribers = (log: ChannelLog): string[] => {
    const at = now();
    for (const [user, deadline] of log.subscribing) if (deadline <= at) log.subscribing.delete(user);
    return [...log.subscribing.keys()];
  };

  return {
    async append(channel, inputs) {
      await gate(logOf(channel));
      const log = logOf(channel);
      const ts = now();
      const ceiling = requestedIdCeilingAt(ts);
      const stored: ChannelMessage[] = [];
      const results: AppendedMessage[] = [];
      let last = log.lastId;
      // Decide every input first: nothing is stored unless all of them can be.
      inputs.forEach((input, index) => {
        if (input.id !== undefined && compareMessageIds(input.id, last) <= 0) {
          const earlier = [...log.messages, ...stored].find((m) => m.id === input.id);
          if (earlier && JSON.stringify(earlier.data) === JSON.stringify(input.data ?? null)) {
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
        results.push({ message, prevId: last, duplicate: false });
        stored.push(message);
        last = id;
      });
      log.messages.push(...stored);
      log.lastId = last;
      for (const message of stored) log.inFlight.add(message.id);
      prune(log);
      return { messages: results, epochId: log.epochId, skipUsers: stored.length > 0 ? activeSubscribers(log) : [] };
    },

    async read(channel, afterId, limit) {
      const log = logOf(channel);
      const after = afterId === undefined ? log.messages : log.messages.filter((m) => compareMessageIds(m.id, afterId) > 0);
      return { position: positionOf(log), messages: after.slice(0, limit) };
    },

    async landed(channel, ids) {
      const log = channels.get(channel);
      if (log) for (const id of ids) log.inFlight.delete(id);
    },

    async stillInFlight(channel, ids) {
      const log = channels.get(channel);
      return log ? ids.filter((id) => log.inFlight.has(id)) : [];
    },

    async beginSubscribe(channel, user, ttlMs, maxConcurrent) {
      const log = logOf(channel);
      const others = activeSubscribers(log).filter((u) => u !== user);
      if (others.length >= maxConcurrent) return { busy: true };
      log.subscribing.set(user, now() + ttlMs);
      return { busy: false, position: positionOf(log), inFlight: [...log.inFlight] };
    },

    async settleSubscribe(channel, user, expectedLastId) {
      const log = logOf(channel);
      const deadline = log.subscribing.get(user);
      if (deadline === undefined || deadline <= now()) {
        log.subscribing.delete(user);
        return { outcome: 'lapsed' };
      }
      if (expectedLastId !== undefined && log.lastId !== expectedLastId) return { outcome: 'behind', lastId: log.lastId };
      log.subscribing.delete(user);
      return { outcome: 'settled', lastId: log.lastId };
    },

    async gateAppends(channel, ttlMs) {
      const log = logOf(channel);
      log.gatedUntil = now() + ttlMs;
      log.opened = new Promise<void>((resolve) => (log.open = resolve));
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

    async close() {
      channels.clear();
    },
  };
}
