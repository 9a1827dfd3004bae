// The Lua scripts of the Redis history store. Each runs atomically inside Redis, which is what makes
// "assign ids, store, and name the WebSocket subscribes in progress" one step across origin instances.
//
// Keys of one channel (one hash slot: `{channel}` is a hash tag, so Redis Cluster works):
//   pos  hash   last, floor, epoch (decimal ids) and run (the Redis run_id that wrote them)
//   log  stream entries `<id>-0` with fields ts, data (the retained messages)
//   sub  hash   filter user -> deadline (ms) of a WebSocket subscribe in progress
//   fly  zset   id -> deadline (ms): publishes not yet acknowledged by every proxy
//   gate string  present (with a TTL) while appends must wait (see HistoryStore.gateAppends)
//   cool string  present (with a TTL) while no new gate may start (gates are bounded per channel)
//   done:<nonce> string  the reply of an append that ran (JSON, short TTL): the same append sent again
//                (ioredis re-sends a command whose answer was lost with the connection) returns it
//                instead of storing its messages a second time
// Ids can exceed 2^53, which Lua numbers cannot hold: they are compared as decimal strings, and
// incremented digit by digit (next_id).

const PRELUDE = `
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms_string(ms) return string.format('%d', ms) end
local function next_id(id)
  local digits = {}
  for i = 1, #id do digits[i] = string.byte(id, i) - 48 end
  local i = #digits
  while i >= 1 and digits[i] == 9 do digits[i] = 0; i = i - 1 end
  if i == 0 then table.insert(digits, 1, 1) else digits[i] = digits[i] + 1 end
  return table.concat(digits)
end
local function id_of(entry_id) return string.sub(entry_id, 1, string.find(entry_id, '-', 1, true) - 1) end
local function field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end
local function run_id() return string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') end

-- The channel's position, creating a new epoch when there is none, or when Redis restarted since it
-- was written (a restart may have restored an older snapshot that lost the newest ids): the epoch
-- base comes from the clock, above every id issued before. trust is '<run_id>:1' when the origin
-- checked that this server (that run_id) persists every write before acknowledging it (appendonly
-- yes, appendfsync always): then its restart lost nothing, and the position and messages are kept.
-- nil when the server restarted and the origin has not checked it yet (the caller checks, then retries).
local function ensure_position(pos, log, fly, now, idle_ms, trust)
  local p = redis.call('HMGET', pos, 'last', 'floor', 'epoch', 'run')
  local run = run_id()
  if p[1] and p[4] == run then
    redis.call('PEXPIRE', pos, idle_ms)
    return {last = p[1], floor = p[2], epoch = p[3]}
  end
  if p[1] then
    local trusted_run, durable = string.match(trust or '', '^(%w+):([01])$')
    if trusted_run ~= run then return nil end
    if durable == '1' then
      redis.call('HSET', pos, 'run', run)
      redis.call('PEXPIRE', pos, idle_ms)
      return {last = p[1], floor = p[2], epoch = p[3]}
    end
  end
  local base = ms_string(now) .. '000'
  if p[1] and not above(base, p[1]) then base = p[1] end
  redis.call('DEL', log, fly)
  redis.call('HSET', pos, 'last', base, 'floor', base, 'epoch', base, 'run', run)
  redis.call('PEXPIRE', pos, idle_ms)
  return {last = base, floor = base, epoch = base}
end

-- The position as reported: an epoch with no message yet is at '0' (see ChannelPosition).
local function reported(p)
  if p.last == p.epoch then return {'0', '0', p.epoch} end
  return {p.last, p.floor, p.epoch}
end

-- A channel with no position key is at '0' too, without one being made (anyone can read any name);
-- its epoch is the clock's base, where an append now would start one.
local function unknown_position(now) return {'0', '0', ms_string(now) .. '000'} end

-- Drops messages older than the age limit from the head of the log and raises the floor past them.
-- A log that is empty or gone (its key expired with the age limit, or Redis evicted it under
-- maxmemory) retains nothing: the floor rises to the last id, so a resume from before it is told.
local function trim_age(pos, log, p, cutoff)
  while true do
    local head = redis.call('XRANGE', log, '-', '+', 'COUNT', 64)
    if #head == 0 then
      if above(p.last, p.floor) then
        p.floor = p.last
        redis.call('HSET', pos, 'floor', p.last)
      end
      return
    end
    local newest_expired = nil
    for _, entry in ipairs(head) do
      if (tonumber(field(entry[2], 'ts')) or 0) >= cutoff then break end
      newest_expired = entry[1]
    end
    if not newest_expired then return end
    local id = id_of(newest_expired)
    -- MINID drops entries below the threshold: <id>-1 is just above the entry <id>-0
    redis.call('XTRIM', log, 'MINID', id .. '-1')
    if above(id, p.floor) then
      p.floor = id
      redis.call('HSET', pos, 'floor', id)
    end
    if newest_expired ~= head[#head][1] then return end
  end
end

local function subscribing(sub, now)
  local users = {}
  local all = redis.call('HGETALL', sub)
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) > now then table.insert(users, all[i]) else redis.call('HDEL', sub, all[i]) end
  end
  return users
end

local function in_flight(fly, now)
  redis.call('ZREMRANGEBYSCORE', fly, '-inf', now)
  return redis.call('ZRANGE', fly, 0, -1)
end
`;

/**
 * KEYS pos log sub fly gate done; ARGV max_messages max_age_ms idle_ms fly_ttl_ms segments, then per segment its
 * count and per input: id ('' for the next one) and data (JSON), then trust (see ensure_position), then done_ttl_ms.
 * A segment is one caller's inputs: stored all or none, after the segments before it (a segment that cannot be
 * stored changes nothing, and the next one goes on from the same position), so callers batched into one call
 * never fail each other. `done` is this call's own key (a nonce per call): when it exists the call already
 * ran, and its reply is returned as it was.
 * Reply: {'ok', segments, segment reply x segments, users...} where a segment reply is {'ok', n, (id, prev,
 * dup, ts) x n} or {'conflict', index, why}; or {'gated', ms} (nothing done: try again after that long), or
 * {'unverified'}. Duplicates (a requested id already stored with the same data) are reported, not stored again.
 */
export const APPEND_SCRIPT = `${PRELUDE}
local pos, log, sub, fly, gate, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local already = redis.call('GET', done)
if already then return cjson.decode(already) end
local gated = redis.call('PTTL', gate)
if gated > 0 then return {'gated', gated} end
local max_messages, max_age, idle, fly_ttl, nseg = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local segments = {}
local cursor = 6
for s = 1, nseg do
  local count = tonumber(ARGV[cursor])
  segments[s] = {count = count, first = cursor + 1}
  cursor = cursor + 1 + 2 * count
end
local trust = ARGV[cursor]
local done_ttl = tonumber(ARGV[cursor + 1])
local now = now_ms()
local p = ensure_position(pos, log, fly, now, idle, trust)
if not p then return {'unverified'} end
trim_age(pos, log, p, now - max_age)
local ceiling = ms_string(now) .. '999'
local reply = {'ok', nseg}
local stored = 0
local last = p.last
for _, segment in ipairs(segments) do
  -- Plan every input of the segment first (nothing of it is written unless all of it can be stored).
  local planned = last
  local plan = {}
  local conflict = nil
  for i = 1, segment.count do
    local requested, data = ARGV[segment.first + 2 * (i - 1)], ARGV[segment.first + 2 * (i - 1) + 1]
    if requested ~= '' and not above(requested, planned) then
      local earlier = nil
      for _, step in ipairs(plan) do if step.id == requested and not step.dup then earlier = step.data end end
      if not earlier and above(requested, p.floor) then
        local found = redis.call('XRANGE', log, requested .. '-0', requested .. '-0')[1]
        if found then earlier = field(found[2], 'data') end
      end
      if earlier == data then
        table.insert(plan, {id = requested, dup = true})
      elseif earlier then
        conflict = {'conflict', i - 1, 'id ' .. requested .. ' is already stored with other data'}
      else
        conflict = {'conflict', i - 1, 'id ' .. requested .. ' is not above the last id ' .. planned}
      end
    elseif requested ~= '' and above(requested, ceiling) then
      conflict = {'conflict', i - 1, 'id ' .. requested .. ' is above the highest id a publisher may request now (' .. ceiling .. ')'}
    else
      local id = requested
      if id == '' then id = next_id(planned) end
      -- The first message of an epoch follows '0', where a channel with no message is.
      local prev = planned
      if planned == p.epoch then prev = '0' end
      table.insert(plan, {id = id, data = data, prev = prev})
      planned = id
    end
    if conflict then break end
  end
  if conflict then
    table.insert(reply, conflict)
  else
    local answer = {'ok', #plan}
    for _, step in ipairs(plan) do
      if step.dup then
        local found = redis.call('XRANGE', log, step.id .. '-0', step.id .. '-0')[1]
        local ts = found and field(found[2], 'ts') or ms_string(now)
        for _, v in ipairs({step.id, step.id, 1, ts}) do table.insert(answer, v) end
      else
        redis.call('XADD', log, step.id .. '-0', 'ts', ms_string(now), 'data', step.data)
        redis.call('ZADD', fly, now + fly_ttl, step.id)
        stored = stored + 1
        for _, v in ipairs({step.id, step.prev, 0, ms_string(now)}) do table.insert(answer, v) end
      end
    end
    last = planned
    table.insert(reply, answer)
  end
end
redis.call('HSET', pos, 'last', last)
local excess = redis.call('XLEN', log) - max_messages
if excess > 0 then
  local dropped = redis.call('XRANGE', log, '-', '+', 'COUNT', excess)
  local id = id_of(dropped[#dropped][1])
  redis.call('XTRIM', log, 'MINID', id .. '-1')
  if above(id, p.floor) then redis.call('HSET', pos, 'floor', id) end
end
if stored > 0 then
  redis.call('PEXPIRE', log, max_age)
  redis.call('PEXPIRE', fly, fly_ttl)
  for _, user in ipairs(subscribing(sub, now)) do table.insert(reply, user) end
end
redis.call('SET', done, cjson.encode(reply), 'PX', done_ttl)
return reply
`;

/**
 * KEYS pos log fly; ARGV max_age_ms idle_ms after ('' for all retained) limit trust. Reply {'unverified'}: check the server (trust), then run again.
 * Reply: {last, floor, epoch, entry...} with the retained entries above max(after, floor); a channel
 * without a position key is reported at '0' and none is made.
 */
export const READ_SCRIPT = `${PRELUDE}
local pos, log, fly = KEYS[1], KEYS[2], KEYS[3]
local max_age, idle, after, limit, trust = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
if redis.call('EXISTS', pos) == 0 then return unknown_position(now) end
local p = ensure_position(pos, log, fly, now, idle, trust)
if not p then return {'unverified'} end
trim_age(pos, log, p, now - max_age)
local from = p.floor
if after ~= '' and above(after, from) then from = after end
local reply = reported(p)
if limit > 0 then
  for _, entry in ipairs(redis.call('XRANGE', log, '(' .. from .. '-0', '+', 'COUNT', limit)) do table.insert(reply, entry) end
end
return reply
`;

/**
 * KEYS pos log sub fly; ARGV user ttl_ms max_age_ms idle_ms max_concurrent trust stale_ms ('' for none).
 * Reply: {last, floor, epoch, in-flight id...}, or {'busy'}. When full, subscribes not renewed for
 * stale_ms (their deadline minus ttl_ms is the last renewal) make room.
 */
export const BEGIN_SUBSCRIBE_SCRIPT = `${PRELUDE}
local pos, log, sub, fly = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user, ttl, max_age, idle, max_concurrent, trust, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local now = now_ms()
local function count_others()
  local n = 0
  for _, other in ipairs(subscribing(sub, now)) do if other ~= user then n = n + 1 end end
  return n
end
local others = count_others()
if others >= max_concurrent and stale then
  local all = redis.call('HGETALL', sub)
  for i = 1, #all, 2 do
    if all[i] ~= user and tonumber(all[i + 1]) - ttl < now - stale then redis.call('HDEL', sub, all[i]) end
  end
  others = count_others()
end
if others >= max_concurrent then return {'busy'} end
local reply
if redis.call('EXISTS', pos) == 0 then
  reply = unknown_position(now)
else
  local p = ensure_position(pos, log, fly, now, idle, trust)
  if not p then return {'unverified'} end
  trim_age(pos, log, p, now - max_age)
  reply = reported(p)
end
redis.call('HSET', sub, user, now + ttl)
redis.call('PEXPIRE', sub, ttl)
for _, id in ipairs(in_flight(fly, now)) do table.insert(reply, id) end
return reply
`;

/**
 * KEYS pos sub; ARGV user expected_last ('' for any). Reply: {'settled', last}, {'behind', last} or
 * {'lapsed'}.
 */
export const SETTLE_SUBSCRIBE_SCRIPT = `${PRELUDE}
local pos, sub = KEYS[1], KEYS[2]
local user, expected = ARGV[1], ARGV[2]
local p = redis.call('HMGET', pos, 'last', 'epoch')
local last = p[1] or '0'
if last == p[2] then last = '0' end
local deadline = redis.call('HGET', sub, user)
if not deadline or tonumber(deadline) <= now_ms() then
  redis.call('HDEL', sub, user)
  return {'lapsed'}
end
if expected ~= '' and last ~= expected then return {'behind', last} end
redis.call('HDEL', sub, user)
return {'settled', last}
`;

/**
 * KEYS gate cool; ARGV ttl_ms cooldown_ms. Reply: 'joined' (a gate is in place), 'cooling' (the last
 * gate started less than ttl + cooldown ago: refused) or 'gated' (a gate starts now).
 */
export const GATE_SCRIPT = `
local gate, cool = KEYS[1], KEYS[2]
local ttl, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('EXISTS', gate) == 1 then return 'joined' end
if redis.call('EXISTS', cool) == 1 then return 'cooling' end
redis.call('SET', gate, '1', 'PX', ttl)
redis.call('SET', cool, '1', 'PX', ttl + cooldown)
return 'gated'
`;

/** KEYS fly; ARGV id... Reply: the ids still in flight. */
export const STILL_IN_FLIGHT_SCRIPT = `${PRELUDE}
local fly = KEYS[1]
local now = now_ms()
local reply = {}
for _, id in ipairs(ARGV) do
  local deadline = redis.call('ZSCORE', fly, id)
  if deadline and tonumber(deadline) > now then table.insert(reply, id) end
end
return reply
`;
