-- Correct the budget from GHL's headers; ARGV[off+1..off+5] = X-RateLimit-Max,
-- -Remaining, -Interval-Milliseconds, -Limit-Daily, -Daily-Remaining ('' = absent);
-- ``off`` is set in front of this script: 3 alone, 4 after release.lua (finish).
-- Limits follow GHL; counts only ever go up (never lowered on a higher Remaining).
local MAX_PHANTOMS = 10000
local max_requests, interval, daily_max, stored, renewed_day = observed_limits()
local seen_max, remaining = tonumber(ARGV[off + 1]), tonumber(ARGV[off + 2])
local seen_interval, seen_daily = tonumber(ARGV[off + 3]), tonumber(ARGV[off + 4])
local daily_remaining = tonumber(ARGV[off + 5])
local changed = false
if seen_max and seen_max ~= max_requests then
  redis.call('HSET', KEYS[3], 'max_requests', seen_max)
  max_requests, changed = seen_max, true
end
if seen_interval and seen_interval ~= interval then
  redis.call('HSET', KEYS[3], 'interval_ms', seen_interval)
  interval, changed = seen_interval, true
end
if seen_daily and seen_daily ~= daily_max then
  redis.call('HSET', KEYS[3], 'daily_max', seen_daily)
  daily_max, changed = seen_daily, true
end
if changed and redis.call('HEXISTS', KEYS[2], 'day') == 1 then
  redis.call('HSET', KEYS[2], 'lim', 1)  -- the next acquire reads them (acquire.lua)
end
if (changed or (stored and renewed_day ~= today)) and (seen_max or seen_interval or seen_daily) then
  -- kept a day after it was renewed, renewed at GHL's first answer of each UTC day (not
  -- on every answer); once expired, the next answer stores them again
  redis.call('HSET', KEYS[3], 'day', today)
  redis.call('PEXPIRE', KEYS[3], DAY_MS)
end
if remaining then
  local count = counting(interval)
  local missing = math.min(max_requests - remaining - count, MAX_PHANTOMS)
  for i = 1, missing do
    redis.call('ZADD', KEYS[1], now_ceil, 'phantom:' .. t[1] .. '.' .. t[2] .. ':' .. (count + i))
  end
  if missing > 0 then expire_window(interval) end
end
if daily_remaining then
  local ghl_used = daily_max - daily_remaining
  -- the day's count only goes up: when the acquire of this same day already counted
  -- at least GHL's figure (known_used, finish only), there is nothing to read or write
  if not (known_used and known_day == today and ghl_used <= known_used) then
    local used, is_today = used_today()
    if ghl_used > used then set_used_today(ghl_used, is_today) end
  end
end
return 1
