-- Take a slot: ARGV[4] slot id, ARGV[5] lease_ms.
-- Returns {1, 0, '', max_requests, interval_ms, daily_max, stored, renewed_day,
-- used_today, today} when granted (what finish then need not read again), else
-- {0, wait_ms, 'daily' | 'burst'}.
local max_requests, interval, daily_max, stored, renewed_day = effective_limits()
local used, is_today = used_today()
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
set_used_today(used + 1, is_today)
-- the new entry is the latest (every process of a location has the same lease, from the
-- same timeouts): the key lives while it counts
redis.call('PEXPIRE', KEYS[1], math.floor(now_ceil + lease + interval - now_floor + 1000))
return {1, 0, '', max_requests, interval, daily_max, stored and 1 or 0, renewed_day or -1,
        used + 1, today}
