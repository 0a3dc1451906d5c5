"""Queue accepted events for the worker: in batches, one round trip each, deduplicated by id.

Each event becomes a Celery task message for ``APPLY_EVENT_TASK`` with args
``[event]``, pushed onto the Redis list of the Celery queue, where the worker's
kombu Redis transport pops it (``BRPOP``, so ``LPUSH`` keeps first-in first-out).
The list is the queue's key under the deployment's prefix
(``<prefix>:toky-ghl.events``, kombu's ``global_keyprefix``: ``toky_ghl/keys.py``).

One Lua script call per batch: each event whose ``<prefix>:queued:<id>``
marker can be set (``SET … NX EX <ttl>``) is new, and the new events' messages
are pushed with one ``LPUSH`` of many values, in order. An event is never marked
without being queued, and the same id queued twice is queued once.
The same call counts the queued events by type and source for the metrics
(``toky_ghl.metrics.record.ENQUEUED``), and any counts the caller adds (the
webhook receiver's answer): no round trip of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

import redis
from redis.typing import EncodableT

from contract.celery_message import default_origin, task_message
from contract.constants import APPLY_EVENT_TASK, EVENT_ID_TTL_S, EVENTS_QUEUE
from contract.events import Event, event_label
from producers.keys import queued_key
from toky_ghl.keys import metrics_key, queue_key
from toky_ghl.metrics.record import ENQUEUED, field
from toky_ghl.settings import Settings

# KEYS[1]: the queue list; KEYS[2]: the enqueued-events counter hash;
# KEYS[3..2+n]: each event's "queued" marker; KEYS[3+n..]: hashes of extra counts.
# ARGV[1]: marker TTL (s); ARGV[2]: "once" (skip events already marked) or
# "always"; ARGV[3]: n; ARGV[4..3+n]: each event's message; ARGV[4+n..3+2n]: each
# event's counter field; ARGV[4+2n..]: the field of each extra count (+1 each).
# Returns 1 (queued) / 0 (repeat) per event.
# Every command counts (INFO commandstats counts a script's): the marker is taken with
# one SET NX EX per event (no EXISTS first), the batch's new messages are pushed with ONE
# LPUSH of many values, and the counters are added once per field of the batch.
# "LPUSH key a b c" inserts a, then b, then c at the head (https://redis.io/commands/lpush/),
# exactly as three LPUSHes would: the consumer, popping from the tail, still takes them in
# order. Values go CHUNK at a time: unpack() puts them on Lua's C stack (LUAI_MAXCSTACK,
# 8000 in Redis's Lua 5.1). An event is never marked without being queued: when a push
# fails (the queue key holds another type) the markers of the events it did not queue are
# deleted, the counts of the events queued before it are added, and the error is answered
# (a re-run queues the rest).
_PUBLISH_LUA = """
local ttl, mode, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local CHUNK = 1000
local flags, counts, fresh = {}, {}, {}
for i = 1, n do
  local new = mode ~= 'once' or redis.call('SET', KEYS[2 + i], '1', 'NX', 'EX', ttl)
  flags[i] = new and 1 or 0
  if new then fresh[#fresh + 1] = i end
end
local function add_counts(upto)
  for j = 1, upto do
    local f = ARGV[3 + n + fresh[j]]
    counts[f] = (counts[f] or 0) + 1
  end
  for f, c in pairs(counts) do redis.call('HINCRBY', KEYS[2], f, c) end
end
local function values(from, to, base, table_of)
  local out = {}
  for j = from, to do out[#out + 1] = table_of[base + fresh[j]] end
  return out
end
for first = 1, #fresh, CHUNK do
  local last = math.min(first + CHUNK - 1, #fresh)
  local pushed = redis.pcall('LPUSH', KEYS[1], unpack(values(first, last, 3, ARGV)))
  if type(pushed) == 'table' and pushed.err then
    if mode == 'once' then
      for from = first, #fresh, CHUNK do
        redis.call('DEL', unpack(values(from, math.min(from + CHUNK - 1, #fresh), 2, KEYS)))
      end
    end
    add_counts(first - 1)
    return pushed
  end
  if mode ~= 'once' then
    for j = first, last do redis.call('SET', KEYS[2 + fresh[j]], '1', 'EX', ttl) end
  end
end
add_counts(#fresh)
for j = 3 + n, #KEYS do
  redis.call('HINCRBY', KEYS[j], ARGV[j + n + 1], 1)
end
return flags
"""

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class PublishResult:
    """What one ``publish`` did: counts, and the event ids in each group, in order."""

    queued: int = 0
    repeats: int = 0
    queued_ids: tuple[str, ...] = ()
    repeat_ids: tuple[str, ...] = ()


def _batches(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Publisher(Protocol):
    """What the poller, the mirror and ``enqueue`` need of a publisher (``EventPublisher``;
    tests pass recording ones): queue a batch of accepted events, deduplicated by id."""

    def publish(self, events: Iterable[Event]) -> PublishResult: ...


class OnePublisher(Protocol):
    """What the webhook receiver needs of a publisher (``EventPublisher``): queue one
    accepted event (False: its id was queued before), adding ``counts`` to the metrics."""

    def publish_one(self, event: Event, counts: Iterable[tuple[str, str]] = ()) -> bool: ...


class EventPublisher:
    """Publishes accepted events (from ``validate_event``) to the Celery queue.

    ``redis_client``: a ``redis.Redis`` on the broker. ``key_prefix``: the
    deployment's prefix (of the ``queued`` markers and of the queue's Redis list).
    ``queue``: the Celery queue's name (its list is ``<key_prefix>:<queue>``).
    ``batch_size``: events per Lua call. ``ttl_s``: how long an id is remembered.
    ``source``: who queues (``webhook``, ``poll``, ``mirror``, ``enqueue``,
    ``replay``), the label of the queued-events counter.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = Settings.key_prefix,
        queue: str = EVENTS_QUEUE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        ttl_s: int = EVENT_ID_TTL_S,
        task_name: str = APPLY_EVENT_TASK,
        source: str = "enqueue",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.queue = queue
        self.queue_key = queue_key(key_prefix, queue)
        self.key_prefix = key_prefix
        self.batch_size = batch_size
        self.ttl_s = ttl_s
        self.task_name = task_name
        self.source = source
        self.origin = default_origin()
        self._script = redis_client.register_script(_PUBLISH_LUA)

    def queued_key(self, event_id: str) -> str:
        """The Redis key that marks ``event_id`` as queued."""
        return queued_key(self.key_prefix, event_id)

    def message_for(self, event: Event) -> str:
        """The Celery task message for ``event``; ``argsrepr`` is its PII-free label."""
        return task_message(
            self.task_name, [event], queue=self.queue,
            argsrepr=event_label(event), origin=self.origin,
        )

    def publish(self, events: Iterable[Event]) -> PublishResult:
        """Queue every event whose id was not queued before; the others are repeats."""
        queued_ids: list[str] = []
        repeat_ids: list[str] = []
        for batch in _batches(events, self.batch_size):
            flags = self._push(batch, mode="once")
            for event, flag in zip(batch, flags, strict=True):
                (queued_ids if flag else repeat_ids).append(event["id"])
        return PublishResult(len(queued_ids), len(repeat_ids), tuple(queued_ids), tuple(repeat_ids))

    def publish_one(self, event: Event, counts: Iterable[tuple[str, str]] = ()) -> bool:
        """Queue one event: True when queued, False when its id was already queued.

        ``counts``: (metric, field) pairs to add 1 to in the same call
        (``toky_ghl.metrics.record``).
        """
        return bool(self._push([event], mode="once", counts=counts)[0])

    def republish(self, events: Iterable[Event]) -> int:
        """Queue events even if their ids were queued before (dead-letter replay); the count."""
        batches = _batches(events, self.batch_size)
        return sum(len(self._push(batch, mode="always")) for batch in batches)

    def _push(self, batch: list[Event], *, mode: str,
              counts: Iterable[tuple[str, str]] = ()) -> list[int]:
        counts = list(counts)
        keys = [self.queue_key, metrics_key(self.key_prefix, ENQUEUED),
                *(self.queued_key(event["id"]) for event in batch),
                *(metrics_key(self.key_prefix, name) for name, _ in counts)]
        args: list[EncodableT] = [
            self.ttl_s, mode, len(batch), *(self.message_for(event) for event in batch),
            *(field(event["type"], self.source) for event in batch),
            *(field_name for _, field_name in counts)]
        return [int(flag) for flag in self._script(keys=keys, args=args)]
