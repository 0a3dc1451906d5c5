"""The dead-letter store: events that cannot be applied, kept with their reason.

Nothing is ever dropped: an invalid event, a write GHL refused, a missing
scope, retries run out. Each entry keeps the event as it arrived, the reason,
what kind of failure it was, the time and how often it was dead-lettered.
``toky-ghl dlq`` lists, shows, replays and purges them.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, cast

import redis

from worker.keys import dlq_index_key, dlq_items_key, dlq_kinds_key


class DeadKind(StrEnum):
    """Every kind of dead letter the code produces (``toky-ghl dlq list`` shows it)."""

    INVALID = "invalid"
    SCOPE = "scope"
    UNPROCESSABLE = "unprocessable"
    REJECTED = "rejected"
    AUTH = "auth"
    RETRIES_EXHAUSTED = "retries_exhausted"
    DEFERRED = "deferred"
    HORIZON = "horizon"
    INTERNAL = "internal"
    PARK_FAILED = "park_failed"


#: What each kind means (the README's Troubleshooting explains each: keep both in step,
#: ``tests/unit/test_docs_operator.py``).
DEAD_LETTER_KINDS: dict[DeadKind, str] = {
    DeadKind.INVALID: "the event does not match the contract (the reason names the field)",
    DeadKind.SCOPE: "a write GHL_SCOPES does not allow, or GHL refused for a scope",
    DeadKind.UNPROCESSABLE: "the deployment cannot apply it as configured (GHL_CALENDAR_ID "
                            "or TOKY_API_KEY unset, Toky refused the key or the contact)",
    DeadKind.REJECTED: "GHL refused the request (a 4xx such as 400 or 422; its message is "
                       "kept)",
    DeadKind.AUTH: "GHL refused the credentials even after a reload or refresh (sending "
                   "pauses)",
    DeadKind.RETRIES_EXHAUSTED: "GHL kept failing (5xx, timeouts, 404) for "
                                "GHL_RETRY_MAX_ATTEMPTS",
    DeadKind.DEFERRED: "its prerequisite never arrived (e.g. a cancel before its appointment)",
    DeadKind.HORIZON: "transient failures lasted longer than GHL_RETRY_HORIZON_S",
    DeadKind.INTERNAL: "an unexpected error in toky-ghl (a bug, Redis refusing) every attempt",
    DeadKind.PARK_FAILED: "it had to wait but the delay store refused it (Redis out of "
                          "memory?)",
}


@dataclass
class DeadLetter:
    id: str
    event: Any
    reason: str
    kind: str
    at_s: float
    count: int = 1
    task_id: str | None = None
    #: The failures before it gave up ("<ISO time> <reason>"), oldest first; None if none.
    history: list[str] | None = None

    @property
    def event_type(self) -> str:
        return self.event.get("type", "?") if isinstance(self.event, dict) else "?"


class DeadLetterStore:
    """Dead letters in Redis: a hash of entries, a sorted set by time and a hash
    of each entry's kind (so counting them by kind reads no entry).

    ``clock``: epoch seconds (injectable for tests).
    """

    def __init__(self, client: redis.Redis, prefix: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._clock = clock
        self._items = dlq_items_key(prefix)
        self._index = dlq_index_key(prefix)
        self._kinds = dlq_kinds_key(prefix)

    @staticmethod
    def entry_id(event: Any) -> str:
        """The entry's id: the event's own id when it has one, else a new one."""
        if isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]:
            return cast(str, event["id"])
        return f"noid-{uuid.uuid4().hex[:12]}"

    def add(self, event: Any, reason: str, kind: DeadKind, *, task_id: str | None = None,
            history: list[str] | None = None) -> DeadLetter:
        entry_id = self.entry_id(event)
        previous = self.get(entry_id)
        entry = DeadLetter(
            id=entry_id, event=event, reason=reason, kind=kind, at_s=self._clock(),
            count=(previous.count + 1) if previous else 1, task_id=task_id,
            history=list(history) if history else None,
        )
        pipe = self._redis.pipeline()
        pipe.hset(self._items, entry_id, json.dumps(asdict(entry)))
        pipe.zadd(self._index, {entry_id: entry.at_s})
        pipe.hset(self._kinds, entry_id, kind)
        pipe.execute()
        return entry

    def add_parts(self, event: Any, reason: str, kind: DeadKind, *,
                  history: list[str] | None = None) -> tuple[list[str], list[Any]]:
        """``add``'s writes as keys and arguments (entry id, entry JSON, time, kind) for a
        caller that makes them in its own script (``DelayStore.dead_letter``)."""
        entry_id = self.entry_id(event)
        previous = self.get(entry_id)
        entry = DeadLetter(id=entry_id, event=event, reason=reason, kind=kind,
                           at_s=self._clock(), count=(previous.count + 1) if previous else 1,
                           history=list(history) if history else None)
        return ([self._items, self._index, self._kinds],
                [entry_id, json.dumps(asdict(entry)), entry.at_s, kind])

    def get(self, entry_id: str) -> DeadLetter | None:
        raw = self._redis.hget(self._items, entry_id)
        return DeadLetter(**json.loads(raw)) if raw else None

    def list(self, *, limit: int | None = None) -> list[DeadLetter]:
        """Entries, oldest first (all of them when ``limit`` is None)."""
        ids = self._redis.zrange(self._index, 0, -1 if limit is None else limit - 1)
        if not ids:
            return []
        raws = self._redis.hmget(self._items, cast(list[bytes], ids))
        return [DeadLetter(**json.loads(r)) for r in raws if r]

    def count(self) -> int:
        return int(self._redis.zcard(self._index))

    def count_by_kind(self) -> dict[str, int]:
        """How many dead letters there are now, by kind."""
        pipe = self._redis.pipeline()  # one MULTI: the total and the kinds of one moment
        pipe.zcard(self._index)
        pipe.hvals(self._kinds)
        total, kinds = pipe.execute()
        counts: dict[str, int] = {}
        for raw in kinds:
            kind = raw.decode() if isinstance(raw, bytes) else str(raw)
            counts[kind] = counts.get(kind, 0) + 1
        if sum(counts.values()) < int(total):  # entries from before kinds were kept
            counts = {}
            for entry in self.list():
                counts[entry.kind] = counts.get(entry.kind, 0) + 1
        return counts

    def remove(self, entry_ids: builtins.list[str]) -> int:
        if not entry_ids:
            return 0
        pipe = self._redis.pipeline()
        pipe.hdel(self._items, *entry_ids)
        pipe.zrem(self._index, *entry_ids)
        pipe.hdel(self._kinds, *entry_ids)
        removed, _, _ = pipe.execute()
        return int(removed)

    def purge(self) -> int:
        count = self.count()
        self._redis.delete(self._items, self._index, self._kinds)
        return count
