"""The budget in this process's memory: the Redis scripts' semantics in Python.

For unit tests (inject the clock) and single-process tools; it is NOT shared
between processes. Thread-safe: one lock around every call.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from clients.http_policy import RateLimitHeaders
from worker.ratelimit.base import DAY_MS, BudgetSnapshot, Grant, Limits

MAX_PHANTOMS = 10_000  # per observe, as in sync.lua


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


@dataclass
class _Budget:
    slots: dict[str, int] = field(default_factory=dict)  # slot id -> score, ms
    day: int = -1  # days since the epoch (UTC) that daily_used counts
    daily_used: int = 0
    followed: dict[str, int] = field(default_factory=dict)  # GHL's limits, by Limits field


class MemoryBackend:
    """``now_ms``: the clock, milliseconds since the epoch (default: the wall clock)."""

    def __init__(self, now_ms: Callable[[], int] = wall_clock_ms):
        self.now_ms = now_ms
        self._lock = threading.Lock()
        self._budgets: dict[str, _Budget] = {}
        self._ids = itertools.count(1)

    def _open(self, location_id: str, limits: Limits) -> tuple[_Budget, Limits, int]:
        """The budget with expired slots dropped, its effective limits, and now."""
        now = self.now_ms()
        budget = self._budgets.setdefault(location_id, _Budget())
        effective = replace(limits, **budget.followed)
        for slot_id, score in list(budget.slots.items()):
            if score <= now - effective.interval_ms:
                del budget.slots[slot_id]
        if budget.day != now // DAY_MS:
            budget.day, budget.daily_used = now // DAY_MS, 0
        return budget, effective, now

    def acquire(self, location_id: str, slot_id: str, limits: Limits, lease_ms: int) -> Grant:
        with self._lock:
            budget, effective, now = self._open(location_id, limits)
            if budget.daily_used >= effective.daily_max:
                return Grant(False, (budget.day + 1) * DAY_MS - now, location_id, None, "daily")
            excess = len(budget.slots) - effective.max_requests
            if excess >= 0:
                leaves = min(sorted(budget.slots.values())[excess], now) + effective.interval_ms
                return Grant(False, max(1, leaves - now), location_id, None, "burst")
            budget.slots[slot_id] = now + lease_ms
            budget.daily_used += 1
            return Grant(True, 0, location_id, slot_id, None)

    def release(self, location_id: str, slot_id: str, limits: Limits) -> None:
        with self._lock:
            budget, _, now = self._open(location_id, limits)
            if budget.slots.get(slot_id, now) > now:  # still leased: counts from now on
                budget.slots[slot_id] = now

    def finish(self, location_id: str, slot_id: str, seen: RateLimitHeaders,
               limits: Limits, known_limits: tuple[int, ...] | None = None) -> None:
        self.release(location_id, slot_id, limits)
        self.observe(location_id, seen, limits)

    def observe(self, location_id: str, seen: RateLimitHeaders, limits: Limits) -> None:
        with self._lock:
            budget, effective, now = self._open(location_id, limits)
            for name, value in (
                ("max_requests", seen.max_requests),
                ("interval_ms", seen.interval_ms),
                ("daily_max", seen.daily_limit),
            ):
                if value is not None and value != getattr(effective, name):
                    budget.followed[name] = value
            budget, effective, now = self._open(location_id, limits)
            if seen.remaining is not None:
                missing = effective.max_requests - seen.remaining - len(budget.slots)
                for _ in range(min(missing, MAX_PHANTOMS)):
                    budget.slots[f"phantom:{next(self._ids)}"] = now
            if seen.daily_remaining is not None:
                budget.daily_used = max(
                    budget.daily_used, effective.daily_max - seen.daily_remaining
                )

    def snapshot(self, location_id: str, limits: Limits) -> BudgetSnapshot:
        with self._lock:
            budget, effective, _ = self._open(location_id, limits)
            return BudgetSnapshot.from_counts(effective, len(budget.slots), budget.daily_used)
