// History in Redis Streams, shared by several origin instances (REDIS_URL). Per channel, a sequence key
// holds the last id and a stream holds the retained messages under the explicit entry id `<id>-0`, so
// ids increase per channel whichever instance publishes, and replay is one XRANGE. Appending is one Lua
// script (atomic: no two instances can take the same id). Retention: MAXLEN by count, then MINID by age.
// Both keys of a channel share a hash tag, so this also works on Redis Cluster.
import { Redis } from 'ioredis';
import type { HistoryConfig } from '../config/originConfig.ts';
import { HistoryConflictError, NO_MESSAGES_ID, type AppendResult, type ChannelMessage, type HistoryStore } from './historyStore.ts';

// Ids can exceed 2^53, which Lua numbers cannot hold: compare them as decimal strings and read the
// INCR'd value back with GET.
const APPEND_SCRIPT = `
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local last = redis.call('GET', KEYS[1]) or '0'
local id
if ARGV[1] ~= '' then
  if not above(ARGV[1], last) then return {'conflict', last} end
  redis.call('SET', KEYS[1], ARGV[1])
  id = ARGV[1]
else
  redis.call('INCR', KEYS[1])
  id = redis.call('GET', KEYS[1])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[4], id .. '-0', 'ts', ARGV[3], 'data', ARGV[2])
-- Age: drop entries older than the cutoff (ts is per entry; stream ids are message ids, not times).
-- Usually the oldest entry is young enough and one XRANGE of one entry is all this costs.
local function ts_of(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do if fields[i] == 'ts' then return tonumber(fields[i + 1]) end end
  return nil
end
local cutoff = tonumber(ARGV[5])
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if oldest and (ts_of(oldest) or cutoff) < cutoff then
  while true do
    local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 64)
    local keep = nil
    for _, entry in ipairs(head) do
      if (ts_of(entry) or cutoff) >= cutoff then keep = entry[1] break end
    end
    if keep then redis.call('XTRIM', KEYS[2], 'MINID', keep) break end
    if #head < 64 then
      if #head > 0 then redis.call('XTRIM', KEYS[2], 'MAXLEN', '=', 0) end
      break
    end
    redis.call('XTRIM', KEYS[2], 'MINID', '(' .. head[#head][1])
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {'ok', id, last}
`;

export interface RedisHistoryOptions {
  url: string;
  limits: HistoryConfig;
  /** Prefix for every key, so several deployments (or tests) can share one Redis. */
  keyPrefix?: string;
  now?: () => number;
}

export class HistoryUnavailableError extends Error {
  override name = 'HistoryUnavailableError';
}

type StreamEntry = [id: string, fields: string[]];

function fieldsToMessage(channel: string, entry: StreamEntry): ChannelMessage {
  const [entryId, fields] = entry;
  let ts = 0;
  let data: unknown = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'ts') ts = Number(fields[i + 1]);
    else if (fields[i] === 'data') data = JSON.parse(fields[i + 1]!) as unknown;
  }
  return { id: entryId.slice(0, entryId.indexOf('-')), channel, data, ts };
}

/** Connects and checks the server answers; throws HistoryUnavailableError naming the URL's host otherwise. */
export async function createRedisHistoryStore(options: RedisHistoryOptions): Promise<HistoryStore> {
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? 'fanout-forward:';
  const { maxMessagesPerChannel, maxAgeMs } = options.limits;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // Keep reconnecting in the background after a drop; a request during the outage fails fast.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {
    // Reported per request; without a listener ioredis would print every reconnect attempt.
  });
  const where = new URL(options.url).host;
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new HistoryUnavailableError(`cannot reach Redis at ${where}: ${(error as Error).message}`);
  }

  // defineCommand runs the script by its SHA (EVALSHA), loading it once.
  redis.defineCommand('appendMessage', { numberOfKeys: 2, lua: APPEND_SCRIPT });
  const appendMessage = (redis as unknown as { appendMessage: (...args: string[]) => Promise<unknown> }).appendMessage.bind(
    redis,
  );

  const keysOf = (channel: string): [string, string] => [`${prefix}{${channel}}:seq`, `${prefix}{${channel}}:log`];

  return {
    async append(channel, data, requestedId): Promise<AppendResult> {
      const ts = now();
      const [seqKey, logKey] = keysOf(channel);
      const reply = (await appendMessage(
        seqKey,
        logKey,
        requestedId ?? '',
        JSON.stringify(data ?? null),
        String(ts),
        String(maxMessagesPerChannel),
        String(ts - maxAgeMs),
        String(maxAgeMs),
      )) as [string, string, string?];
      if (reply[0] === 'conflict') {
        throw new HistoryConflictError(`id ${requestedId} is not above the last id ${reply[1]} on channel ${channel}`);
      }
      return { message: { id: reply[1], channel, data, ts }, prevId: reply[2] ?? NO_MESSAGES_ID };
    },
    async readAfter(channel, afterId, limit) {
      const [, logKey] = keysOf(channel);
      const start = afterId === undefined ? '-' : `(${afterId}-0`;
      const entries = (limit === undefined
        ? await redis.xrange(logKey, start, '+')
        : await redis.xrange(logKey, start, '+', 'COUNT', limit)) as StreamEntry[];
      const oldestKept = now() - maxAgeMs;
      return entries.map((entry) => fieldsToMessage(channel, entry)).filter((m) => m.ts >= oldestKept);
    },
    async lastId(channel) {
      const value = await redis.get(keysOf(channel)[0]);
      return value === null || value === '0' ? undefined : value;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
