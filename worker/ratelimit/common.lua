-- Prelude of the rate-limit script (the Python side puts it in front of sync.lua).
-- KEYS[1]: the window, a sorted set: member = slot id, score = ms; an entry
--          counts while score > now - interval_ms (in flight: now + lease_ms).
-- KEYS[2]: the day's count, a hash {day = days since the epoch (UTC), used, lim, ghl}.
-- KEYS[3]: GHL's limits when they differ from the configured ones, a hash
--          {max_requests, interval_ms, daily_max, day}.
-- ARGV[1..3]: the configured max_requests, interval_ms, daily_max.
-- Times are the Redis server's, in ms: floored where an entry's age is
-- judged (entries count a little longer), ceiled where a score is written.
-- Every Redis call counts (INFO commandstats counts those of scripts too): the
-- window is pruned only when it looks full, expiries are set only when they change.
local DAY_MS = 86400000
local t = redis.call('TIME')
local now_floor = math.floor(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local now_ceil = math.floor(tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000))
local today = math.floor(now_floor / DAY_MS)

-- The effective limits, whether GHL's own are stored (KEYS[3] exists), and the day
-- their expiry was last renewed.
local function effective_limits()
  local v = redis.call('HMGET', KEYS[3], 'max_requests', 'interval_ms', 'daily_max', 'day')
  return tonumber(v[1]) or tonumber(ARGV[1]), tonumber(v[2]) or tonumber(ARGV[2]),
         tonumber(v[3]) or tonumber(ARGV[3]), not not (v[1] or v[2] or v[3]), tonumber(v[4])
end

local function drop_expired(interval)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', math.floor(now_floor - interval))
end

-- Entries that count now (expired ones may linger until the window looks full).
local function counting(interval)
  return redis.call('ZCOUNT', KEYS[1], '(' .. math.floor(now_floor - interval), '+inf')
end

local function expire_window(interval)
  -- the key lives while its latest entry counts, plus a second
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local ttl = math.floor(tonumber(last[2]) + interval - now_floor + 1000)
    redis.call('PEXPIRE', KEYS[1], math.max(1000, ttl))
  end
end

