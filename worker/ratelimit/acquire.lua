-- Take a slot: ARGV[4] slot id, ARGV[5] lease_ms.
-- Returns {1, 0, '', max_requests, interval_ms, daily_max, stored, renewed_day,
-- used_today, today} when granted (what finish then need not read again), else
-- {0, wait_ms, 'daily' | 'burst'}.
-- The day's count first: its 'lim' field says whether GHL's limits were stored at the
-- day's last acquire ('0': no, then the limits hash is not read: a location whose limits
-- are the configured ones costs one read here, not two); a 'lim' of '1', none, or a
-- count of another day: the limits hash is read, and 'lim' written with the count.
local d = redis.call('HMGET', KEYS[2], 'day', 'used', 'lim')
local is_today = tonumber(d[1]) == today
local used = is_today and (tonumber(d[2]) or 0) or 0
local max_requests, interval, daily_max, stored, renewed_day
if is_today and d[3] == '0' then
  max_requests, interval, daily_max, stored = tonumber(ARGV[1]), tonumber(ARGV[2]),
                                              tonumber(ARGV[3]), false
else
  max_requests, interval, daily_max, stored, renewed_day = effective_limits()
end
if used >= daily_max then
  return {0, math.floor((today + 1) * DAY_MS - now_floor), 'daily'}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= max_requests then
  drop_expired(interval)
  count = redis.call('ZCARD', KEYS[1])
end
if count >= max_requests then
  -- the slot frees when the (count - max + 1)-th oldest entry leaves; an entry
  -- still in flight leaves interval_ms after its release at the earliest
  local nth = redis.call('ZRANGE', KEYS[1], count - max_requests, count - max_requests, 'WITHSCORES')
  local leaves = math.min(tonumber(nth[2]), now_floor) + interval
  return {0, math.floor(math.max(1, leaves - now_floor)), 'burst'}
end
local lease = tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], math.floor(now_ceil + lease), ARGV[4])
set_used_today(used + 1, is_today, stored)
-- the new entry is the latest (every process of a location has the same lease, from the
-- same timeouts): the key lives while it counts
redis.call('PEXPIRE', KEYS[1], math.floor(now_ceil + lease + interval - now_floor + 1000))
return {1, 0, '', max_requests, interval, daily_max, stored and 1 or 0, renewed_day or -1,
        used + 1, today}
