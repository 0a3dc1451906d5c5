-- Take a slot: ARGV[4] slot id, ARGV[5] lease_ms.
-- Returns {1, 0, ''} when granted, else {0, wait_ms, 'daily' | 'burst'}.
local max_requests, interval, daily_max = effective_limits()
drop_expired(interval)
local used = used_today()
if used >= daily_max then
  return {0, math.floor((today + 1) * DAY_MS - now_floor), 'daily'}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= max_requests then
  -- the slot frees when the (count - max + 1)-th oldest entry leaves; an entry
  -- still in flight leaves interval_ms after its release at the earliest
  local nth = redis.call('ZRANGE', KEYS[1], count - max_requests, count - max_requests, 'WITHSCORES')
  local leaves = math.min(tonumber(nth[2]), now_floor) + interval
  return {0, math.floor(math.max(1, leaves - now_floor)), 'burst'}
end
redis.call('ZADD', KEYS[1], math.floor(now_ceil + tonumber(ARGV[5])), ARGV[4])
set_used_today(used + 1)
expire_window(interval)
return {1, 0, ''}
