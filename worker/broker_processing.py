"""Processing lists: the durable pop's record of what each consumer took from the queue
and has not yet acknowledged, so that a worker killed at any instant loses nothing.

The durable pop (``worker.broker``) takes a message with ``BRPOPLPUSH``, which moves it
from the queue into its consumer's processing list in one step (Redis docs, RPOPLPUSH:
"the element is pushed onto the destination list ... atomically"). It stays there while
its task runs, and the acknowledgement removes it (one ``LREM``). kombu's ``unacked``
hash is no longer written for these messages. So at every instant a message is in the
queue or in a processing list, and a live consumer's list is never touched by others.
Keys, under kombu's ``global_keyprefix`` ``G`` (``<TOKY_GHL_KEY_PREFIX>:``):

- ``G<queue>:processing:<consumer>`` (LIST): what consumer ``<consumer>`` (one per
  worker process and channel: host, pid, random token) took and has not acknowledged:
  its prefetched and running messages, as Redis gave them.
- ``G<queue>:processing:<consumer>:alive`` (STRING, expires after the consumer's
  ``alive_ttl_s``): refreshed by the consumer's own thread every third of that, whether
  it pops or not (``worker.broker_alive``).
- ``Gprocessing`` (SET): the processing lists, so the sweep needs no ``SCAN``.

``RESTORE`` (the sweep, run by every worker a few times a minute and once at start)
puts the messages of a consumer whose ``alive`` key is gone back on the queue
(``RPUSH``: taken next), except a message also in ``unacked`` (kombu restores that one
itself): one atomic script per list, so a sweeper killed at any point, or two sweepers
at once, lose and double nothing. ``GIVE_BACK`` puts one message of a live consumer back
(a rejection with requeue, a warm shutdown): removed, then pushed only if it was there.
``CLAIM`` moves one into ``unacked`` (a message left unacknowledged: kombu's sweep gives
it back after the visibility timeout). ``CHECK`` tells a consumer that stalled longer
than its ``alive`` lifetime whether a sweep took a popped message back meanwhile.
"""

from __future__ import annotations

import redis

PROCESSING_MARK = ":processing:"
ALIVE_SUFFIX = ":alive"

# KEYS: processing list, unacked_index, unacked. ARGV: the message as Redis gave it,
# the time (s), the delivery tag, kombu's unacked entry ([message, exchange, key]).
# What kombu's QoS.append writes (ZADD + HSET), only if the message is still in the
# processing list (a sweep did not take it back), in the same step: both or neither.
CLAIM_LUA = """
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

# KEYS: processing list, the queue. ARGV: the message as Redis gave it, the message to
# push (kombu marks a restored message redelivered), 1 to push at the head (taken
# last, kombu's reject with requeue: LPUSH) else at the tail (taken next: RPUSH).
# Pushed only if removed: never doubled (a sweep or an acknowledgement took it first).
GIVE_BACK_LUA = """
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
if ARGV[3] == '1' then redis.call('LPUSH', KEYS[2], ARGV[2])
else redis.call('RPUSH', KEYS[2], ARGV[2]) end
return 1
"""

# KEYS: processing list, its alive key, the registry. ARGV: a popped message, the
# consumer id, the alive lifetime (s). Makes the consumer alive again first (so no
# sweep can take the message after the answer), then answers 1 if the message is still
# in its list. LRANGE, not LPOS (Redis >= 6.0.6): the embedded Redis may be older, and
# the list holds a prefetch's worth of messages.
CHECK_LUA = """
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[1])
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if item == ARGV[1] then return 1 end
end
return 0
"""

# KEYS: processing list, the queue. ARGV: the messages the consumer knows it holds.
# Puts every other message of the list back on the queue (RPUSH: taken next): one
# Redis moved there while the consumer could not read the answer (a connection broken
# during the pop). Run before the consumer pops again, so nothing else can be unknown.
RECONCILE_LUA = """
local known = {}
for _, item in ipairs(ARGV) do known[item] = true end
local restored = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if not known[item] and redis.call('LREM', KEYS[1], 1, item) > 0 then
    redis.call('RPUSH', KEYS[2], item)
    restored = restored + 1
  end
end
return restored
"""

# KEYS: processing list, its alive key, unacked, the queue, the registry.
# -1 when the consumer is alive; else how many messages went back on the queue.
RESTORE_LUA = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local restored = 0
while true do
  local item = redis.call('LPOP', KEYS[1])
  if not item then break end
  local ok, message = pcall(cjson.decode, item)
  local tag = nil
  if ok and type(message) == 'table' and type(message['properties']) == 'table' then
    tag = message['properties']['delivery_tag']
  end
  if type(tag) ~= 'string' or redis.call('HEXISTS', KEYS[3], tag) == 0 then
    redis.call('RPUSH', KEYS[4], item)
    restored = restored + 1
  end
end
redis.call('SREM', KEYS[5], KEYS[1])
return restored
"""


def processing_key(global_prefix: str, queue: str, consumer: str) -> str:
    return f"{global_prefix}{queue}{PROCESSING_MARK}{consumer}"


def alive_key(processing: str) -> str:
    return processing + ALIVE_SUFFIX


def registry_key(global_prefix: str) -> str:
    return f"{global_prefix}processing"


def queue_of(processing: str) -> str:
    """The queue (full Redis key) a processing list was filled from."""
    return processing.rsplit(PROCESSING_MARK, 1)[0]


def processing_lists(client: redis.Redis, global_prefix: str, *, scan: bool = False) -> list[str]:
    """The registered processing lists; with ``scan``, also any list left under the
    prefix by a consumer that never registered (a version that is gone)."""
    found = {k.decode() if isinstance(k, bytes) else k
             for k in client.smembers(registry_key(global_prefix))}
    if scan:
        for key in client.scan_iter(match=f"{global_prefix}*{PROCESSING_MARK}*", count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            if not name.endswith(ALIVE_SUFFIX):
                found.add(name)
    return sorted(found)


def restore_dead(client: redis.Redis, global_prefix: str, *, scan: bool = False) -> int:
    """Put the messages of dead consumers' processing lists back on their queues;
    how many went back."""
    restore = client.register_script(RESTORE_LUA)
    restored = 0
    for processing in processing_lists(client, global_prefix, scan=scan):
        keys = [processing, alive_key(processing), f"{global_prefix}unacked",
                queue_of(processing), registry_key(global_prefix)]
        restored += max(0, int(restore(keys=keys)))
    return restored


def processing_counts(client: redis.Redis, global_prefix: str, *, scan: bool = False
                      ) -> dict[str, int]:
    """``{"live": n, "dead": m}``: messages in processing lists of live consumers (taken
    and not yet acknowledged: prefetched or running) and of dead ones (the sweep puts
    them back on the queue)."""
    lists = processing_lists(client, global_prefix, scan=scan)
    if not lists:
        return {"live": 0, "dead": 0}
    pipe = client.pipeline(transaction=False)
    for processing in lists:
        pipe.llen(processing)
        pipe.exists(alive_key(processing))
    replies = pipe.execute()
    counts = {"live": 0, "dead": 0}
    for length, alive in zip(replies[::2], replies[1::2], strict=True):
        counts["live" if alive else "dead"] += int(length)
    return counts
