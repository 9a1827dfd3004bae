// The Lua scripts of the Redis presence store. They follow presenceLedger.ts rule for rule (the
// contract test holds both stores to the same answers), each one atomic, so several origins agree on
// members and occupancy and every change is reported to exactly one of them.
//
// Every key carries the `{presence}` hash tag: one slot, so a script may touch any channel and the
// deployment-wide index of when channels next have a lease due (Redis Cluster keeps presence on one
// node; the history's keys are spread per channel as before). Keys of one channel, below ARGV[1]:
//   <channel>:L  hash  connection -> "<transport>|<clientId>" (clientId empty: counted, not a member)
//   <channel>:E  zset  connection -> when its lease lapses (ms, Redis's clock)
//   <channel>:M  hash  clientId -> "<connections>\n<info JSON or nothing>"
//   <channel>:N  zset  clientId at score 0 (members in the order of their bytes, for paging)
//   <channel>:T  hash  transport -> connections
// KEYS[1], the due index: zset channel -> no lease of it lapses before this (a lower bound).
// A channel whose last lease goes is deleted whole. Changes come back as flat sextuples:
// type, channel, clientId, info, reason, ts ('' where a field does not apply).

const PRELUDE = `
local DUE = KEYS[1]
local P = ARGV[1]
local out = {}
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function emit(kind, ch, cid, info, reason, ts)
  out[#out + 1] = kind; out[#out + 1] = ch; out[#out + 1] = cid; out[#out + 1] = info; out[#out + 1] = reason; out[#out + 1] = ts
end
local function keys_of(ch)
  local b = P .. ch .. ':'
  return {L = b .. 'L', E = b .. 'E', M = b .. 'M', N = b .. 'N', T = b .. 'T'}
end
local function add_member(k, ch, cid, info, now)
  local v = redis.call('HGET', k.M, cid)
  if v then
    -- The latest entry's info stands for the member.
    redis.call('HSET', k.M, cid, (tonumber(string.match(v, '^(%d+)')) + 1) .. '\\n' .. info)
    return
  end
  redis.call('HSET', k.M, cid, '1\\n' .. info)
  redis.call('ZADD', k.N, 0, cid)
  emit('member_added', ch, cid, info, '', now)
end
local function drop_member(k, ch, cid, reason, now)
  local v = redis.call('HGET', k.M, cid)
  if not v then return end
  local n, info = string.match(v, '^(%d+)\\n(.*)$')
  n = tonumber(n) - 1
  if n > 0 then
    redis.call('HSET', k.M, cid, n .. '\\n' .. info)
    return
  end
  redis.call('HDEL', k.M, cid)
  redis.call('ZREM', k.N, cid)
  emit('member_removed', ch, cid, info, reason, now)
end
local function remove_connection(k, ch, conn, reason, now)
  local v = redis.call('HGET', k.L, conn)
  if not v then return false end
  redis.call('HDEL', k.L, conn)
  redis.call('ZREM', k.E, conn)
  local transport, cid = string.match(v, '^([^|]*)|(.*)$')
  redis.call('HINCRBY', k.T, transport, -1)
  if cid ~= '' then drop_member(k, ch, cid, reason, now) end
  return true
end
-- After removals: an empty channel is announced (when something was removed) and deleted; otherwise
-- the due index moves to its earliest lease.
local function settle(k, ch, removed, reason, now)
  if redis.call('HLEN', k.L) == 0 then
    redis.call('DEL', k.L, k.E, k.M, k.N, k.T)
    redis.call('ZREM', DUE, ch)
    if removed then emit('channel_vacated', ch, '', '', reason, now) end
    return
  end
  local first = redis.call('ZRANGE', k.E, 0, 0, 'WITHSCORES')
  redis.call('ZADD', DUE, first[2], ch)
end
-- Claims the leases of the channel that lapsed at or before now.
local function expire(k, ch, now, always_settle)
  local removed = false
  for _, conn in ipairs(redis.call('ZRANGEBYSCORE', k.E, '-inf', now)) do
    removed = remove_connection(k, ch, conn, 'expired', now) or removed
  end
  if removed or always_settle then settle(k, ch, removed, 'expired', now) end
end
`;

/**
 * ARGV: prefix, ttlMs, maxConnectionsPerChannel, then per touch: channel, connection, transport,
 * clientId (or ''), info JSON (or ''). Returns {changes, refused touch indexes (1-based)}.
 */
export const TOUCH_SCRIPT = `${PRELUDE}
local now = now_ms()
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local refused = {}
local n = 0
for i = 4, #ARGV, 5 do
  n = n + 1
  local ch, conn, transport, cid, info = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local k = keys_of(ch)
  expire(k, ch, now, false)
  local old = redis.call('HGET', k.L, conn)
  local ok = true
  if not old then
    local size = redis.call('HLEN', k.L)
    if size >= max then
      ok = false
      refused[#refused + 1] = n
    else
      if size == 0 then emit('channel_occupied', ch, '', '', '', now) end
      redis.call('HINCRBY', k.T, transport, 1)
      if cid ~= '' then add_member(k, ch, cid, info, now) end
    end
  else
    local old_transport, old_cid = string.match(old, '^([^|]*)|(.*)$')
    if old_transport ~= transport then
      redis.call('HINCRBY', k.T, old_transport, -1)
      redis.call('HINCRBY', k.T, transport, 1)
    end
    if old_cid ~= cid then
      -- The new membership first: a member that only moves between connections is never announced as gone.
      if cid ~= '' then add_member(k, ch, cid, info, now) end
      if old_cid ~= '' then drop_member(k, ch, old_cid, 'left', now) end
    elseif cid ~= '' then
      local v = redis.call('HGET', k.M, cid)
      redis.call('HSET', k.M, cid, string.match(v, '^(%d+)') .. '\\n' .. info)
    end
  end
  if ok then
    local expires = now + ttl
    redis.call('HSET', k.L, conn, transport .. '|' .. cid)
    redis.call('ZADD', k.E, expires, conn)
    redis.call('ZADD', DUE, 'LT', expires, ch)
  end
end
return {out, refused}
`;

/** ARGV: prefix, then per release: channel, connection. Returns {changes}. */
export const RELEASE_SCRIPT = `${PRELUDE}
local now = now_ms()
for i = 2, #ARGV, 2 do
  local ch, conn = ARGV[i], ARGV[i + 1]
  local k = keys_of(ch)
  if redis.call('EXISTS', k.L) == 1 then
    expire(k, ch, now, false)
    if remove_connection(k, ch, conn, 'left', now) then settle(k, ch, true, 'left', now) end
  end
end
return {out}
`;

/**
 * ARGV: prefix, channel, after ('' for the first page), limit. Returns {changes, connections,
 * members, transport counts (flat pairs), page (flat: clientId, connections, info), more (0/1)}.
 */
export const READ_SCRIPT = `${PRELUDE}
local now = now_ms()
local ch, after, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local k = keys_of(ch)
expire(k, ch, now, false)
local from = '-'
if after ~= '' then from = '(' .. after end
local ids = redis.call('ZRANGEBYLEX', k.N, from, '+', 'LIMIT', 0, limit + 1)
local more = 0
if #ids > limit then
  more = 1
  ids[#ids] = nil
end
local page = {}
if #ids > 0 then
  local values = redis.call('HMGET', k.M, unpack(ids))
  for i, cid in ipairs(ids) do
    local count, info = string.match(values[i] or '0\\n', '^(%d+)\\n(.*)$')
    page[#page + 1] = cid; page[#page + 1] = count; page[#page + 1] = info
  end
end
return {out, redis.call('HLEN', k.L), redis.call('HLEN', k.M), redis.call('HGETALL', k.T), page, more}
`;

/** ARGV: prefix, maxChannels. Claims the lapsed leases of up to maxChannels channels due. Returns {changes}. */
export const SWEEP_SCRIPT = `${PRELUDE}
local now = now_ms()
for _, ch in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  expire(keys_of(ch), ch, now, true)
end
return {out}
`;
