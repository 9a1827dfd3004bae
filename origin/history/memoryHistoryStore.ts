// The default history store: per channel, bounded by count and by age, in this process's memory.
import type { HistoryConfig } from '../config/originConfig.ts';
import {
  compareMessageIds,
  HistoryConflictError,
  type AppendResult,
  type ChannelMessage,
  type HistoryStore,
} from './historyStore.ts';

interface ChannelLog {
  lastId: bigint;
  messages: ChannelMessage[];
}

export function createMemoryHistoryStore(limits: HistoryConfig, now: () => number = Date.now): HistoryStore {
  const channels = new Map<string, ChannelLog>();

  const prune = (log: ChannelLog): void => {
    const oldestKept = now() - limits.maxAgeMs;
    let drop = Math.max(0, log.messages.length - limits.maxMessagesPerChannel);
    while (drop < log.messages.length && log.messages[drop]!.ts < oldestKept) drop++;
    if (drop > 0) log.messages.splice(0, drop);
  };

  return {
    async append(channel, data, requestedId): Promise<AppendResult> {
      let log = channels.get(channel);
      if (!log) {
        log = { lastId: 0n, messages: [] };
        channels.set(channel, log);
      }
      let id = log.lastId + 1n;
      if (requestedId !== undefined) {
        const requested = BigInt(requestedId);
        if (requested <= log.lastId) {
          throw new HistoryConflictError(
            `id ${requestedId} is not above the last id ${log.lastId} on channel ${channel}`,
          );
        }
        id = requested;
      }
      const prevId = log.lastId.toString();
      const message: ChannelMessage = { id: id.toString(), channel, data, ts: now() };
      log.lastId = id;
      log.messages.push(message);
      prune(log);
      return { message, prevId };
    },
    async readAfter(channel, afterId, limit = Number.POSITIVE_INFINITY) {
      const log = channels.get(channel);
      if (!log) return [];
      prune(log);
      const after = afterId === undefined ? [...log.messages] : log.messages.filter((m) => compareMessageIds(m.id, afterId) > 0);
      return after.slice(0, limit);
    },
    async lastId(channel) {
      const log = channels.get(channel);
      return log && log.lastId > 0n ? log.lastId.toString() : undefined;
    },
    async close() {
      channels.clear();
    },
  };
}
