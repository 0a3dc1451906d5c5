-- The request of slot ARGV[4] is done: its entry counts from this moment on.
-- A slot whose lease already ran out is left as it is (it counts until its lease
-- plus the interval, never longer); one that expired stays gone (XX adds nothing).
-- The window's expiry, set at the acquire, already covers now + interval.
-- One command: XX never adds, LT moves the score only down (an entry whose lease is
-- still running has a score after now; one whose lease ran out, before it).
redis.call('ZADD', KEYS[1], 'XX', 'LT', now_ceil, ARGV[4])
