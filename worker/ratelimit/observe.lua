-- Correct the budget from GHL's headers; ARGV[4..8] = X-RateLimit-Max,
-- -Remaining, -Interval-Milliseconds, -Limit-Daily, -Daily-Remaining ('' = absent).
-- Limits follow GHL; counts only ever go up (never lowered on a higher Remaining).
local MAX_PHANTOMS = 10000
local max_requests, interval, daily_max = effective_limits()
local seen_max, remaining = tonumber(ARGV[4]), tonumber(ARGV[5])
local seen_interval, seen_daily, daily_remaining = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if seen_max and seen_max ~= max_requests then
  redis.call('HSET', KEYS[3], 'max_requests', seen_max)
  max_requests = seen_max
end
if seen_interval and seen_interval ~= interval then
  redis.call('HSET', KEYS[3], 'interval_ms', seen_interval)
  interval = seen_interval
end
if seen_daily and seen_daily ~= daily_max then
  redis.call('HSET', KEYS[3], 'daily_max', seen_daily)
  daily_max = seen_daily
end
if seen_max or seen_interval or seen_daily then
  redis.call('PEXPIRE', KEYS[3], DAY_MS)  -- a no-op when nothing is stored
end
drop_expired(interval)
if remaining then
  local count = redis.call('ZCARD', KEYS[1])
  local missing = math.min(max_requests - remaining - count, MAX_PHANTOMS)
  for i = 1, missing do
    redis.call('ZADD', KEYS[1], now_ceil, 'phantom:' .. t[1] .. '.' .. t[2] .. ':' .. (count + i))
  end
  if missing > 0 then expire_window(interval) end
end
if daily_remaining then
  local ghl_used = daily_max - daily_remaining
  if ghl_used > used_today() then set_used_today(ghl_used) end
end
return 1
