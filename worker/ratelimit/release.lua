-- The request of slot ARGV[4] is done: its entry counts from this moment on
-- (a slot that already expired stays gone: XX never adds one).
local _, interval = effective_limits()
drop_expired(interval)
redis.call('ZADD', KEYS[1], 'XX', now_ceil, ARGV[4])
expire_window(interval)
return 1
