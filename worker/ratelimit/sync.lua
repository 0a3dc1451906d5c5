-- The one script of the budget (after common.lua): a process's pending work, then its
-- new lease, in one call. In order:
--   1. finishes: answered slots count from their answer on (ZADD XX LT of them all);
--   2. returns: leased slots never sent leave the window (ZREM of them all) and the
--      day's count (those leased today);
--   3. GHL's headers (the newest answer's): limits followed, phantoms added, the day's
--      count raised (observe);
--   4. the lease: up to ``want`` slots, each scored now + lease_ms (in flight);
--   5. with ``report``, the window's count and the day's (snapshot).
-- ARGV[4] lease_ms; ARGV[5] want (0: lease nothing); ARGV[6] the batch id (slot i of
-- the batch is '<id>:<i>'); ARGV[7..11] X-RateLimit-Max, -Remaining,
-- -Interval-Milliseconds, -Limit-Daily, -Daily-Remaining ('' = absent); ARGV[12] report
-- ('1' or '0'); ARGV[13] ms since the answer of those headers; ARGV[14] nf, then nf pairs
-- (slot, ms since its answer: its entry then counts from now minus that, floored by the
-- caller: a little longer, never shorter); then nr, then nr pairs (slot, the day it was
-- leased).
-- Returns {granted, wait_ms, reason ('' | 'burst' | 'daily'), max_requests, interval_ms,
-- daily_max, today, used_in_window (-1 unless report), daily_used}.
--
-- The lease size: at most a quarter of the window's free slots and of the day's (at
-- least 1), so that one process never takes the last slots the others need: near a
-- full window every process gets one slot per call, as without batches.
-- Every Redis call counts (INFO commandstats counts those of scripts too): a list of
-- slots is one command (in chunks of CHUNK), the day's hash is read once and written
-- once, the limits hash is read only when GHL's limits are stored ('lim', below).
local CHUNK, MAX_PHANTOMS, SHARE = 500, 10000, 4
local lease, want, batch = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local report = ARGV[12] == '1'

-- {head..., list[from..to]...}
local function concat_args(head, list, from, to)
  local out = {}
  for _, v in ipairs(head) do out[#out + 1] = v end
  for j = from, to do out[#out + 1] = list[j] end
  return out
end

-- redis.call(cmd, KEYS[1], head..., list...) in chunks of CHUNK items of ``width``
-- values: one command per chunk (Lua's unpack is bounded)
local function each_chunk(list, width, cmd, ...)
  local step = CHUNK * width
  for s = 1, #list, step do
    redis.call(cmd, KEYS[1], unpack(concat_args({...}, list, s, math.min(#list, s + step - 1))))
  end
end

-- 1 and 2: the lists
local seen_ago = math.max(0, tonumber(ARGV[13]) or 0)
local at = 14
local finished = {}
for _ = 1, tonumber(ARGV[at]) do
  local ago = math.max(0, tonumber(ARGV[at + 2]) or 0)
  finished[#finished + 1] = math.floor(now_ceil - ago)
  finished[#finished + 1] = ARGV[at + 1]
  at = at + 2
end
at = at + 1
local returned, returned_today = {}, 0
for _ = 1, tonumber(ARGV[at]) do
  returned[#returned + 1] = ARGV[at + 1]
  if tonumber(ARGV[at + 2]) == today then returned_today = returned_today + 1 end
  at = at + 2
end
-- XX never adds (a slot that expired stays gone), LT moves a score only down (a slot
-- whose lease ran out counts until lease + interval, never longer)
if #finished > 0 then each_chunk(finished, 2, 'ZADD', 'XX', 'LT') end
if #returned > 0 then each_chunk(returned, 1, 'ZREM') end

local seen_max, remaining = tonumber(ARGV[7]), tonumber(ARGV[8])
local seen_interval, seen_daily = tonumber(ARGV[9]), tonumber(ARGV[10])
local daily_remaining = tonumber(ARGV[11])
local seen_limits = seen_max or seen_interval or seen_daily
if not (want > 0 or returned_today > 0 or report or seen_limits or remaining
        or daily_remaining) then
  return {0, 0, '', -1, -1, -1, today, -1, -1}
end

-- The day's count: {day, used, lim, ghl}. 'lim' says whether GHL's limits were stored
-- at the day's last lease ('0': no, then the limits hash is not read); 'ghl' is the
-- highest count GHL reported today (a return never lowers the count below it).
local d = redis.call('HMGET', KEYS[2], 'day', 'used', 'lim', 'ghl')
local is_today = tonumber(d[1]) == today
local used = is_today and (tonumber(d[2]) or 0) or 0
local ghl = is_today and (tonumber(d[4]) or 0) or 0
local max_requests, interval, daily_max, stored, renewed_day
if is_today and d[3] == '0' then
  max_requests, interval, daily_max, stored = tonumber(ARGV[1]), tonumber(ARGV[2]),
                                              tonumber(ARGV[3]), false
else
  max_requests, interval, daily_max, stored, renewed_day = effective_limits()
end
local dirty, note_lim = false, false

-- 3: GHL's headers. Limits follow GHL; counts only ever go up (never lowered on a
-- higher Remaining)
if seen_limits then
  local set = {}
  if seen_max and seen_max ~= max_requests then
    set[#set + 1], set[#set + 2], max_requests = 'max_requests', seen_max, seen_max
  end
  if seen_interval and seen_interval ~= interval then
    set[#set + 1], set[#set + 2], interval = 'interval_ms', seen_interval, seen_interval
  end
  if seen_daily and seen_daily ~= daily_max then
    set[#set + 1], set[#set + 2], daily_max = 'daily_max', seen_daily, seen_daily
  end
  if #set > 0 or (stored and renewed_day ~= today) then
    -- kept a day after it was renewed, renewed at GHL's first answer of each UTC day (not
    -- on every answer); once expired, the next answer stores them again
    set[#set + 1], set[#set + 2] = 'day', today
    redis.call('HSET', KEYS[3], unpack(set))
    redis.call('PEXPIRE', KEYS[3], DAY_MS)
  end
  if #set > 2 then
    stored, note_lim = true, d[1] ~= false  -- the next lease reads them
  end
end
if remaining then
  -- GHL's Remaining is as of its answer, seen_ago ms ago (applied late by a pooled
  -- process): compared with the entries that counted then (answered since then: a
  -- window before it at most; in flight: leased before it, score <= then + lease; the
  -- ones leased since, GHL did not count); the phantoms stand for requests GHL counted
  -- then, so they count from then (they arrived before it).
  -- (lease_ms 0: not known to the caller, every entry in flight counts; + 2 ms: the
  -- caller's clock is read in whole ms, a lease just before the answer may look after)
  local then_ceil = math.floor(now_ceil - seen_ago)
  local then_count = redis.call('ZCOUNT', KEYS[1],
                                '(' .. math.floor(now_floor - seen_ago - interval),
                                lease > 0 and (then_ceil + lease + 2) or '+inf')
  local missing = math.min(max_requests - remaining - then_count, MAX_PHANTOMS)
  if missing > 0 then
    local phantoms = {}
    for i = 1, missing do
      phantoms[#phantoms + 1] = then_ceil
      phantoms[#phantoms + 1] = 'phantom:' .. t[1] .. '.' .. t[2] .. ':' .. (then_count + i)
    end
    each_chunk(phantoms, 2, 'ZADD')
    expire_window(interval)
  end
end
if daily_remaining then
  local ghl_used = daily_max - daily_remaining
  if ghl_used > ghl then ghl, dirty = ghl_used, true end
  if ghl_used > used then used, dirty = ghl_used, true end
end
if returned_today > 0 and is_today then
  used, dirty = math.max(used - returned_today, ghl, 0), true
end

-- 4: the lease
local granted, wait_ms, reason = 0, 0, ''
if want > 0 then
  if used >= daily_max then
    wait_ms, reason = math.floor((today + 1) * DAY_MS - now_floor), 'daily'
  else
    local count = redis.call('ZCARD', KEYS[1])
    if count >= max_requests then
      drop_expired(interval)
      count = redis.call('ZCARD', KEYS[1])
    end
    if count >= max_requests then
      -- the slot frees when the (count - max + 1)-th oldest entry leaves; an entry
      -- still in flight leaves interval_ms after its answer at the earliest
      local nth = redis.call('ZRANGE', KEYS[1], count - max_requests, count - max_requests,
                             'WITHSCORES')
      local leaves = math.min(tonumber(nth[2]), now_floor) + interval
      wait_ms, reason = math.floor(math.max(1, leaves - now_floor)), 'burst'
    else
      granted = math.min(want, math.max(1, math.floor((max_requests - count) / SHARE)),
                         math.max(1, math.floor((daily_max - used) / SHARE)))
      local score, slots = math.floor(now_ceil + lease), {}
      for i = 1, granted do
        slots[#slots + 1] = score
        slots[#slots + 1] = batch .. ':' .. i
      end
      each_chunk(slots, 2, 'ZADD')
      used, dirty, note_lim = used + granted, true, true
      -- the new entries are the latest (every process of a location has the same lease,
      -- from the same timeouts): the key lives while they count
      redis.call('PEXPIRE', KEYS[1], math.floor(score + interval - now_floor + 1000))
    end
  end
end

if dirty then
  redis.call('HSET', KEYS[2], 'day', today, 'used', math.floor(used), 'ghl', math.floor(ghl),
             'lim', stored and 1 or 0)
  if not is_today then
    -- an hour after the day ends (the day field, not the expiry, decides)
    redis.call('PEXPIREAT', KEYS[2], math.floor((today + 1) * DAY_MS + 3600000))
  end
elseif note_lim then
  redis.call('HSET', KEYS[2], 'lim', 1)
end

-- 5: the report
local in_window = -1
if report then in_window = counting(interval) end
return {granted, wait_ms, reason, max_requests, interval, daily_max, today, in_window,
        math.floor(used)}
