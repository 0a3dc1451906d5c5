"""Everything the metrics show, read from the shared Redis at one moment.

``read_snapshot`` is used by the exporter at each scrape (``collector.py``) and
by ``toky-ghl status`` for the alerts that would fire now (``alerts.py``).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from toky_ghl.keys import metrics_key
from toky_ghl.metrics import record
from toky_ghl.settings import Settings

_HASHES = (record.EVENTS, record.LAG, record.ENQUEUED, record.GHL,
           record.GHL_RATE_LIMITED, record.WEBHOOK, record.CYCLES,
           record.CYCLE_ITEMS, record.CYCLE_LAST)


@dataclass
class Budget:
    window_max: int
    window_remaining: int
    window_ms: int
    daily_max: int
    daily_remaining: int


@dataclass
class Snapshot:
    """Raw values; ``hashes[name]`` maps a field (label values joined by ``|``) to a number."""

    at_s: float
    hashes: dict[str, dict[str, float]] = field(default_factory=dict)
    queued: int = 0
    in_flight: int = 0
    awaiting_redelivery: int = 0
    oldest_queued_age_s: float | None = None
    retrying: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    budgets: dict[str, Budget] = field(default_factory=dict)
    #: location -> (paused, since unix time or None)
    paused: dict[str, tuple[bool, float | None]] = field(default_factory=dict)
    #: location -> circuit state ("closed", "open", "half_open"), when the workers keep one
    circuits: dict[str, str] = field(default_factory=dict)
    #: location -> when its circuit opened (unix s), while it is not closed
    circuit_opened_at_s: dict[str, float] = field(default_factory=dict)
    #: (reason, location) -> parked events (worker.delay)
    parked: dict[tuple[str, str], int] = field(default_factory=dict)
    #: location -> seconds since its longest-waiting parked event was first parked
    parked_oldest_age_s: dict[str, float] = field(default_factory=dict)

    def rows(self, name: str) -> list[tuple[list[str], float]]:
        """The fields of hash ``name`` split into label values, with their numbers."""
        return [(key.split("|"), value) for key, value in sorted(self.hashes[name].items())]

    def total(self, name: str, **match: str) -> float:
        """Sum of hash ``name`` over fields whose label values match (by position name)."""
        positions = _POSITIONS[name]
        total = 0.0
        for labels, value in self.rows(name):
            if all(labels[positions.index(k)] == v for k, v in match.items()):
                total += value
        return total


#: The label names of each hash's fields, in order.
_POSITIONS = {
    record.EVENTS: ("type", "outcome", "reason"),
    record.ENQUEUED: ("type", "source"),
    record.GHL_RATE_LIMITED: ("location", "source"),
    record.WEBHOOK: ("event", "status"),
    record.CYCLES: ("poller", "outcome"),
    record.CYCLE_ITEMS: ("poller", "what"),
    record.CYCLE_LAST: ("poller", "which"),
}


def _number(raw: bytes | str) -> float:
    return float(raw.decode() if isinstance(raw, bytes) else raw)


def oldest_queued_age_s(client: redis.Redis, queue: str, now_s: float) -> float | None:
    """Seconds since the ``occurred_at`` of the event longest in the queue (None: empty).

    kombu pops from the right end of the list (producers ``LPUSH``), so the
    oldest message is the last one.
    """
    from worker.versions import occurred_at_us

    raw = client.lindex(queue, -1)
    if raw is None:
        return None
    try:
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        occurred_us = occurred_at_us(args[0]["occurred_at"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # not one of our messages: its age is unknown
    return max(0.0, now_s - occurred_us / 1_000_000)


def read_snapshot(client: redis.Redis, settings: Settings, *, now_s: float | None = None
                  ) -> Snapshot:
    """Read every metric's current value; raises ``redis.RedisError`` when Redis fails."""
    from toky_ghl.keys import queue_depth, queue_key
    from worker.dlq import DeadLetterStore
    from worker.inflight import held_by_workers
    from worker.stats import Stats, fold_before_reading

    now_s = time.time() if now_s is None else now_s
    prefix = settings.key_prefix
    fold_before_reading(client, prefix)  # the decisions logged since the last fold
    pipe = client.pipeline(transaction=False)
    for name in _HASHES:
        pipe.hgetall(metrics_key(prefix, name))
    *hashes, = pipe.execute()
    snap = Snapshot(at_s=now_s)
    snap.hashes = {name: {k.decode(): _number(v) for k, v in raw.items()}
                   for name, raw in zip(_HASHES, hashes, strict=True)}
    held = held_by_workers(client, prefix)
    snap.in_flight, snap.awaiting_redelivery = held["live"], held["dead"]
    snap.queued = queue_depth(client, prefix)
    snap.oldest_queued_age_s = oldest_queued_age_s(client, queue_key(prefix), now_s)
    snap.retrying = Stats(client, prefix).retrying_by_reason()
    snap.dead_letters = DeadLetterStore(client, prefix).count_by_kind()
    _read_location_state(client, settings, snap)
    _read_parked_and_circuits(client, settings, snap)
    return snap


def _read_parked_and_circuits(client: redis.Redis, settings: Settings, snap: Snapshot) -> None:
    """Parked events (worker.delay) and each location's circuit (worker.circuit)."""
    from worker.circuit import circuit_locations, circuit_state
    from worker.delay.report import parked_report

    for location, parked in parked_report(client, settings.key_prefix).items():
        for reason, count in parked["by_reason"].items():
            snap.parked[(reason, location)] = count
        if parked["oldest_age_s"] is not None:
            snap.parked_oldest_age_s[location] = parked["oldest_age_s"]
    locations = set(circuit_locations(client, settings.key_prefix))
    if settings.ghl_location_id:
        locations.add(settings.ghl_location_id)
    for location in sorted(locations):
        circuit = circuit_state(client, settings.key_prefix, location)
        snap.circuits[location] = circuit["state"]
        if circuit["state"] != "closed" and circuit["opened_at_ms"] is not None:
            snap.circuit_opened_at_s[location] = circuit["opened_at_ms"] / 1000
    _read_budgets(client, settings, snap, locations | {loc for _, loc in snap.parked})


def _read_budgets(client: redis.Redis, settings: Settings, snap: Snapshot,
                  locations: set[str]) -> None:
    """The rate budget of every location the workers touched (and the configured one)."""
    from worker.ratelimit.shared import shared_limiter

    limiter = shared_limiter(settings, client)
    for location in sorted(locations):
        budget = limiter.snapshot(location)
        snap.budgets[location] = Budget(budget.max_requests, budget.remaining_in_window,
                                        budget.interval_ms, budget.daily_max,
                                        budget.daily_remaining)


def _read_location_state(client: redis.Redis, settings: Settings, snap: Snapshot) -> None:
    """The auth pause of the configured location (the credentials are per deployment)."""
    from worker.auth.report import pause_report

    location = settings.ghl_location_id
    if not location:
        return
    pause: dict[str, Any] | None = pause_report(settings, client)
    if pause and pause["current"]:
        since = pause.get("since")
        from datetime import datetime

        snap.paused[location] = (True, datetime.fromisoformat(since).timestamp()
                                 if since else None)
    else:
        snap.paused[location] = (False, None)
