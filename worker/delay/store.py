"""``DelayStore``: park an event until it is due; release what is due onto the queue.

Both are ONE Lua script each (keys in ``worker.keys``), on the Redis
server's clock, so every host agrees on "due" and a process killed at any
point of a park or a release has done all of it or nothing:

- park: record + due time + reason count in one step; the Celery message that
  carried the event is acknowledged only AFTER the park returned (a worker
  killed in between leaves the message unacknowledged: it comes back and the
  event is parked or applied once, as its id is de-duplicated);
- release: each due event is removed from the store AND pushed onto the
  Celery queue in the same script: there is no moment when it is in neither
  place, nor in both.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any, cast

import redis

from contract.celery_message import default_origin, task_message
from contract.constants import APPLY_EVENT_TASK, EVENTS_QUEUE
from contract.events import event_label
from toky_ghl.keys import queue_key
from toky_ghl.redis_conn import Scored, text
from worker.delay.reasons import GATE_REASONS, ParkReason
from worker.keys import delay_location_keys, delay_locations_key

# KEYS: due, items, since, reasons, locations. ARGV: id, wait_ms (-1: at the gate),
# reason, record (JSON), location. Returns the due time (epoch ms, server clock).
_PARK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, wait, reason = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local old = redis.call('HGET', KEYS[2], id)
if old then
  local was = string.match(old, '^([^|]*)|')
  if was then redis.call('HINCRBY', KEYS[4], was, -1) end
end
redis.call('ZADD', KEYS[3], 'NX', now, id)
local due = now + wait
if wait < 0 then due = tonumber(redis.call('ZSCORE', KEYS[3], id)) end
redis.call('HSET', KEYS[2], id, reason .. '|' .. ARGV[4])
redis.call('HINCRBY', KEYS[4], reason, 1)
redis.call('ZADD', KEYS[1], due, id)
redis.call('SADD', KEYS[5], ARGV[5])
return due
"""

# KEYS: due, items, since, reasons, queue. ARGV: max count. Returns how many were pushed.
_RELEASE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local pushed = 0
for _, id in ipairs(ids) do
  local record = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[2], id)
  if record then
    local reason, body = string.match(record, '^([^|]*)|(.*)$')
    redis.call('HINCRBY', KEYS[4], reason, -1)
    local message = cjson.decode(body)['message']
    redis.call('LPUSH', KEYS[5], message)
    pushed = pushed + 1
  end
end
return pushed
"""


# KEYS: due, items, since, reasons, then the dead-letter store's three (DeadLetterStore.
# add_parts). ARGV: id, its record as read, then the entry's id, JSON, time and kind.
# Moves the parked event into the dead-letter store only if its record is unchanged.
_DEAD_LETTER_LUA = """
local record = redis.call('HGET', KEYS[2], ARGV[1])
if record ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local reason = string.match(record, '^([^|]*)|')
if reason then redis.call('HINCRBY', KEYS[4], reason, -1) end
redis.call('HSET', KEYS[5], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[3])
redis.call('HSET', KEYS[7], ARGV[3], ARGV[6])
return 1
"""


@dataclass(frozen=True)
class ParkedRecord:
    """A parked event as stored: what the scheduler needs to dead-letter it."""

    event_id: str
    reason: str
    raw: bytes
    event: Any
    kwargs: dict[str, Any]
    first_parked_ms: int


@dataclass(frozen=True)
class Parked:
    """One parked event as ``DelayStore.parked`` reads it (times in epoch ms)."""

    event_id: str
    reason: str
    due_ms: int
    since_ms: int
    label: str


class DelayStore:
    """Parks events per GHL location. ``queue``: the Celery queue released events go to
    (its Redis list is under the prefix: ``toky_ghl.keys.queue_key``)."""

    def __init__(self, client: redis.Redis, prefix: str, *, queue: str = EVENTS_QUEUE) -> None:
        self._redis = client
        self.prefix = prefix
        self.queue = queue
        self.queue_key = queue_key(prefix, queue)
        self._park = client.register_script(_PARK_LUA)
        self._release = client.register_script(_RELEASE_LUA)
        self._dead_letter = client.register_script(_DEAD_LETTER_LUA)
        self._origin = default_origin()

    def message_for(self, event: dict[str, Any], kwargs: dict[str, Any]) -> str:
        """The Celery message that re-applies ``event`` with ``kwargs`` (failures, history)."""
        return task_message(APPLY_EVENT_TASK, [event], kwargs=kwargs, queue=self.queue,
                            argsrepr=_label(event), origin=self._origin,
                            kwargsrepr=repr({"failures": kwargs.get("failures", 0)}))

    def park(self, location: str, event: dict[str, Any], *, reason: ParkReason | str, wait_ms: int,
             kwargs: dict[str, Any]) -> int:
        """Park ``event`` for ``wait_ms`` (gate reasons: until the gate opens); its due time.

        Raises ``redis.RedisError`` when Redis refuses: the caller must then keep the
        event another way (see ``worker.tasks``)."""
        reason = ParkReason(reason)
        record = json.dumps({"message": self.message_for(event, kwargs), "label": _label(event),
                             "parked_at_ms": int(time.time() * 1000)}, separators=(",", ":"))
        wait = -1 if reason in GATE_REASONS else max(0, int(wait_ms))
        return int(self._park(keys=[*delay_location_keys(self.prefix, location),
                                    delay_locations_key(self.prefix)],
                              args=[str(event["id"]), wait, reason.value, record, location]))

    def release_due(self, location: str, max_count: int) -> int:
        """Push up to ``max_count`` due events of ``location`` onto the queue, oldest due first."""
        if max_count < 1:
            return 0
        return int(self._release(keys=[*delay_location_keys(self.prefix, location), self.queue_key],
                                 args=[int(max_count)]))

    def parked_since(self, location: str, before_ms: int, reasons: frozenset[str], *,
                     limit: int = 100) -> list[ParkedRecord]:
        """Events of ``location`` first parked before ``before_ms`` for one of ``reasons``."""
        _, items, since, _ = delay_location_keys(self.prefix, location)
        scored = cast(Scored, self._redis.zrangebyscore(since, "-inf", before_ms, start=0,
                                                         num=limit, withscores=True))
        ids = [raw_id for raw_id, _ in scored]
        records = cast(list[bytes | None], self._redis.hmget(items, ids) if ids else [])
        out = []
        for (raw_id, first_ms), raw in zip(scored, records, strict=True):
            if raw is None:
                continue
            reason, _, body = raw.decode().partition("|")
            if reason not in reasons:
                continue
            message = json.loads(json.loads(body)["message"])
            args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            out.append(ParkedRecord(text(raw_id), reason, raw, args[0], kwargs,
                                    int(first_ms)))
        return out

    def dead_letter(self, location: str, parked: ParkedRecord,
                    dlq_parts: tuple[list[str], list[Any]]) -> bool:
        """Move ``parked`` into the dead-letter store (``DeadLetterStore.add_parts``) in one
        step, if it is still parked as read; False when it was released or re-parked."""
        keys, args = dlq_parts
        return bool(self._dead_letter(keys=[*delay_location_keys(self.prefix, location), *keys],
                                      args=[parked.event_id, parked.raw, *args]))

    def parked(self, location: str) -> list[Parked]:
        """Every parked event of ``location``, in release order (for tests and operators)."""
        due, items, since, _ = delay_location_keys(self.prefix, location)
        entries = cast(Scored, self._redis.zrange(due, 0, -1, withscores=True))
        out = []
        for raw_id, due_ms in entries:
            record = self._redis.hget(items, raw_id)
            if record is None:
                continue
            reason, _, body = text(record).partition("|")
            first = self._redis.zscore(since, raw_id)
            out.append(Parked(raw_id.decode(), reason, int(due_ms), int(first or due_ms),
                              json.loads(body).get("label", "")))
        return out


def _label(event: Any) -> str:
    try:
        return event_label(event)
    except Exception:  # an event that fails validation still gets a label
        return f"{event.get('type', '?')} evt={event.get('id', '?')}"
