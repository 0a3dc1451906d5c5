"""Processing lists: where a message sits between leaving the queue and being recorded
in kombu's ``unacked`` hash, so that a worker killed in between loses nothing.

The durable pop (``worker.broker``) takes a message with ``BRPOPLPUSH`` from the
queue into its consumer's processing list, and ``CLAIM`` moves it from there into
``unacked`` in one atomic step. So at every instant a message is in the queue, in a
processing list or in ``unacked`` (which kombu restores after the visibility
timeout). Keys, under kombu's ``global_keyprefix`` ``G`` (``<TOKY_GHL_KEY_PREFIX>:``):

- ``G<queue>:processing:<consumer>`` (LIST): what consumer ``<consumer>`` (one per
  worker process and channel: host, pid, random token) has popped and not yet
  recorded. Holds a message for the time between Redis answering the pop and the
  worker reading the answer: microseconds, unless the worker dies or stalls.
- ``G<queue>:processing:<consumer>:alive`` (STRING, expires after the consumer's
  ``alive_ttl_s``): refreshed by the consumer before it pops, while it is alive.
- ``Gprocessing`` (SET): the processing lists, so the sweep needs no ``SCAN``.

``RESTORE`` (the sweep, run by every worker a few times a minute and once at start)
puts the messages of a consumer whose ``alive`` key is gone back on the queue
(``RPUSH``: taken next), except a message already in ``unacked`` (kombu restores
that one itself): one atomic script per list, so a sweeper killed at any point, or
two sweepers at once, lose and double nothing. A consumer declared dead while in
fact only slow finds its message gone when it claims it (``CLAIM`` answers 0) and
drops it: the message was restored, not lost, and is not delivered twice.
"""

from __future__ import annotations

import redis

PROCESSING_MARK = ":processing:"
ALIVE_SUFFIX = ":alive"

# KEYS: processing list, unacked_index, unacked. ARGV: the popped message as Redis
# gave it, the delivery time (s), the delivery tag, kombu's unacked entry.
# kombu's QoS.append does the ZADD and HSET; here they happen only if the message is
# still in the processing list (a sweep did not take it back), in the same step.
CLAIM_LUA = """
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
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
    """``{"live": n, "dead": m}``: messages in processing lists of live consumers (being
    recorded right now) and of dead ones (the sweep puts them back on the queue)."""
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
