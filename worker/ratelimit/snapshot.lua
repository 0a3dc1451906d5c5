-- Read the effective limits and their use; writes nothing.
-- Returns {max_requests, interval_ms, used_in_window, daily_max, daily_used}.
local max_requests, interval, daily_max = effective_limits()
local used = redis.call('ZCOUNT', KEYS[1], '(' .. math.floor(now_floor - interval), '+inf')
return {max_requests, interval, used, daily_max, used_today()}
