-- The request of slot ARGV[4] is done: its entry counts from this moment on.
-- A slot whose lease already ran out is left as it is (it counts until its lease
-- plus the interval, never longer); one that expired stays gone (XX adds nothing).
-- The window's expiry, set at the acquire, already covers now + interval.
local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[4]))
if score and score > now_floor then
  redis.call('ZADD', KEYS[1], 'XX', now_ceil, ARGV[4])
end
