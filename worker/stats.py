"""Counters an operator reads with ``toky-ghl status``: applied, skipped,
dead-lettered, and which events are waiting for a retry."""

from __future__ import annotations

import time

import redis

OUTCOMES = ("applied", "skipped", "dead_lettered", "retried")


class Stats:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._counts = f"{prefix}:stats:counts"
        self._retrying = f"{prefix}:stats:retrying"

    def count(self, outcome: str, event_type: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hincrby(self._counts, outcome, 1)
        pipe.hincrby(self._counts, f"{outcome}:{event_type}", 1)
        pipe.execute()

    def retrying(self, event_id: str, event_type: str, due_in_ms: int) -> None:
        """Note that ``event_id`` is scheduled again in ``due_in_ms`` (and count a retry)."""
        self._redis.zadd(self._retrying, {event_id: time.time() + due_in_ms / 1000})
        self.count("retried", event_type)

    def done(self, event_id: str) -> None:
        self._redis.zrem(self._retrying, event_id)

    def snapshot(self) -> dict[str, int]:
        raw = self._redis.hgetall(self._counts)
        counts = {k.decode(): int(v) for k, v in raw.items()}
        for outcome in OUTCOMES:
            counts.setdefault(outcome, 0)
        counts["retrying"] = int(self._redis.zcard(self._retrying))
        return counts
