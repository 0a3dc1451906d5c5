-- Read the effective limits and their use; writes nothing.
-- Returns {max_requests, interval_ms, used_in_window, daily_max, daily_used}.
local max_requests, interval, daily_max = effective_limits()
local used_day = used_today()
return {max_requests, interval, counting(interval), daily_max, used_day}
