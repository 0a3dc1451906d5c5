"""Counters an operator reads with ``toky-ghl status`` and ``toky-ghl metrics``:
applied, skipped, dead-lettered and retried (by event type and reason), the
lag of applied events, and which events are waiting for a retry (and why).

Each decision is written in ONE pipeline, with whatever the event's GHL
requests noted meanwhile (``toky_ghl.metrics.record``): the metrics add no
round trip per event.
"""

from __future__ import annotations

import time

import redis

from producers.schemas import EVENT_TYPES
from toky_ghl.metrics import record
from worker.versions import occurred_at_us

OUTCOMES = ("applied", "skipped", "dead_lettered", "retried")


def type_label(event_type: str) -> str:
    """An event type as a metric label: an unknown one (an invalid event's) is ``other``."""
    return event_type if event_type in EVENT_TYPES else "other"


def skip_reason(detail: str) -> str:
    """A skip's reason as a metric label (a few fixed values, never an id)."""
    if detail.startswith("duplicate"):
        return "duplicate"
    if detail.startswith("stale: the contact was deleted"):
        return "contact_deleted"
    if detail.startswith("stale"):
        return "stale"
    return "nothing_to_do"


def retry_reason(exc: BaseException) -> str:
    """Why an event waits for a retry, as a metric label."""
    from worker.auth.errors import LocationPaused
    from worker.ghl import errors as ghl_errors
    from worker.sync.outcome import Deferred

    if isinstance(exc, LocationPaused):
        return "paused"
    if isinstance(exc, ghl_errors.GhlRateLimitedError):
        return "rate_limited"
    if isinstance(exc, ghl_errors.GhlAuthError):
        return "auth"
    if isinstance(exc, Deferred):
        return "deferred"
    if isinstance(exc, ghl_errors.GhlError):
        return "ghl_error"
    return "internal"


class Stats:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._counts = f"{prefix}:stats:counts"
        self._retrying = f"{prefix}:stats:retrying"
        self._retrying_reason = f"{prefix}:stats:retrying_reason"

    def _pipe(self):
        return self._redis.pipeline(transaction=False)

    def _count_on(self, pipe, outcome: str, event_type: str) -> None:
        pipe.hincrby(self._counts, outcome, 1)
        pipe.hincrby(self._counts, f"{outcome}:{event_type}", 1)

    def _send(self, pipe, own: record.Tally) -> None:
        """Add ``own`` increments and the current event's (its GHL requests), then send."""
        own.apply(pipe, self._prefix)
        noted = record.current()
        if noted:
            noted.apply(pipe, self._prefix)
        pipe.execute()

    def count(self, outcome: str, event_type: str) -> None:
        """Count one ``outcome`` of ``event_type`` (status counters only)."""
        pipe = self._pipe()
        self._count_on(pipe, outcome, event_type)
        pipe.execute()

    def retrying(self, event_id: str, event_type: str, due_in_ms: int,
                 reason: str = "internal") -> None:
        """Note that ``event_id`` is scheduled again in ``due_in_ms`` because of
        ``reason`` (and count a retry), in one round trip."""
        pipe = self._pipe()
        pipe.zadd(self._retrying, {event_id: time.time() + due_in_ms / 1000})
        pipe.hset(self._retrying_reason, event_id, reason)
        self._count_on(pipe, "retried", event_type)
        own = record.Tally()
        own.add(record.EVENTS, record.field(type_label(event_type), "retried", reason))
        self._send(pipe, own)

    def finish(self, outcome: str, event_type: str, event_id: str, reason: str, *,
               occurred_at: str | None = None) -> None:
        """Count the final ``outcome`` of an event, note it no longer waits, and
        (given ``occurred_at``, for an applied event) its lag: one round trip."""
        pipe = self._pipe()
        self._count_on(pipe, outcome, event_type)
        pipe.zrem(self._retrying, event_id)
        pipe.hdel(self._retrying_reason, event_id)
        own = record.Tally()
        own.add(record.EVENTS, record.field(type_label(event_type), outcome, reason))
        if occurred_at is not None:
            lag_s = time.time() - occurred_at_us(occurred_at) / 1_000_000
            own.observe(record.LAG, type_label(event_type), lag_s, record.LAG_BUCKETS_S)
        self._send(pipe, own)

    def done(self, event_id: str) -> None:
        pipe = self._pipe()
        pipe.zrem(self._retrying, event_id)
        pipe.hdel(self._retrying_reason, event_id)
        pipe.execute()

    def retrying_by_reason(self) -> dict[str, int]:
        """How many events wait for a retry, by reason (those noted before reasons
        were kept count as ``unknown``)."""
        pipe = self._pipe()
        pipe.zcard(self._retrying)
        pipe.hvals(self._retrying_reason)
        total, reasons = pipe.execute()
        counts: dict[str, int] = {}
        for raw in reasons:
            reason = raw.decode() if isinstance(raw, bytes) else str(raw)
            counts[reason] = counts.get(reason, 0) + 1
        unknown = int(total) - sum(counts.values())
        if unknown > 0:
            counts["unknown"] = unknown
        return counts

    def oldest_retry_due(self) -> float | None:
        """The unix time the longest-waiting retry was due, or None."""
        first = self._redis.zrange(self._retrying, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def snapshot(self) -> dict[str, int]:
        raw = self._redis.hgetall(self._counts)
        counts = {k.decode(): int(v) for k, v in raw.items()}
        for outcome in OUTCOMES:
            counts.setdefault(outcome, 0)
        counts["retrying"] = int(self._redis.zcard(self._retrying))
        return counts
