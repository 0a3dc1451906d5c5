"""The scheduler: re-publish parked events that are due, gate-aware, at the budget's pace.

Every worker process runs one (a daemon thread started when the worker is
ready; ``toky-ghl scheduler`` runs it alone). Any number may run on any hosts:
a tick takes a short Redis lock, and each release is one atomic Lua script
(``DelayStore.release_due``), so a scheduler killed at any moment loses and
doubles nothing.

Per location, a tick releases nothing while a gate is shut:
- the location is paused (refused credentials);
- its circuit is open: only when a probe is due, ONE event (the oldest) is
  released to carry the probe (and not again within the probe lease);
- its daily budget is spent.
Otherwise it releases at most what the rate window has left minus what is
already queued, oldest due first, so a backlog drains at the budget's pace.

Its keys (the tick's lock, the marker of a probe on its way) are in ``worker.keys``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import redis
import structlog
from redis import Redis

from toky_ghl.redis_conn import text
from worker.circuit import Circuit, circuit_state
from worker.delay.report import parked_locations, server_now_ms
from worker.delay.store import DelayStore
from worker.keys import probe_released_key, scheduler_lock_key

if TYPE_CHECKING:
    from toky_ghl.settings import Settings
    from worker.auth.source import TokenSource
    from worker.ratelimit.base import BudgetSnapshot


class Budgets(Protocol):
    """What the scheduler needs of the rate limiter (``worker.ratelimit.RateLimiter``)."""

    def snapshot(self, location_id: str) -> BudgetSnapshot: ...

log = structlog.get_logger("toky_ghl.scheduler")

# KEYS[1]: the tick lock; ARGV[1]: this tick's token. Deletes it only while it is ours.
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: The most events one tick releases per location.
MAX_RELEASE_PER_TICK = 500


@dataclass
class Scheduler:
    """One tick at a time over every parked location. ``limiter``: the shared rate
    limiter (its snapshot paces releases); ``auth``: the token provider (None: no pause
    check); ``queue_depth``: a function of the Redis client giving the queued count."""

    redis: redis.Redis
    settings: Settings
    limiter: Budgets | None = None
    auth: TokenSource | None = None
    circuit: Circuit | None = None
    store: DelayStore | None = None
    queue_depth: Callable[[Redis], int] | None = None

    def __post_init__(self) -> None:
        self.store = self.store or DelayStore(self.redis, self.settings.key_prefix)
        self.circuit = self.circuit or Circuit.from_settings(self.settings, self.redis)
        if self.queue_depth is None:
            from toky_ghl.keys import queue_depth

            prefix = self.settings.key_prefix
            self.queue_depth = lambda client: queue_depth(client, prefix)
        self.prefix = self.settings.key_prefix
        self._probe_slot: str | None = None  # set by allowance(): the probe slot it saw
        self._unlock = self.redis.register_script(_UNLOCK_LUA)

    def tick(self) -> int:
        """Release what is due on every location (if no other scheduler is ticking); the count."""
        lock_ms = max(1000, 4 * self.settings.delay_poll_interval_ms)
        key, token = scheduler_lock_key(self.prefix), uuid.uuid4().hex
        if not self.redis.set(key, token, nx=True, px=lock_ms):
            return 0
        try:
            return sum(self.release(location) for location in parked_locations(
                self.redis, self.prefix))
        finally:
            # only our own lock: a tick slower than lock_ms lost it to another scheduler
            self._unlock(keys=[key], args=[token])

    def release(self, location: str) -> int:
        """Release ``location``'s due events, as many as its gates and budget allow."""
        allowance = self.allowance(location)  # (sets _probe_slot)
        if allowance <= 0:
            return 0
        assert self.store is not None and self.circuit is not None  # (set by __post_init__)
        released = self.store.release_due(location, allowance)
        if released and self._probe_slot is not None:
            # this probe slot is spent only once an event really went to carry it
            self.redis.set(self._probe_marker(location), self._probe_slot,
                           px=self.circuit.probe_lease_ms)
            log.info("released one event to probe the open circuit", location=location)
        elif released:
            log.info("released parked events", location=location, count=released)
        return released

    def allowance(self, location: str) -> int:
        """How many of ``location``'s due events may go now (0: a gate is shut)."""
        self._probe_slot = None
        if self.auth is not None and location == self.settings.ghl_location_id:
            try:
                self.auth.check_not_paused()
            except Exception:  # paused (or unreadable): nothing goes
                return 0
        state = circuit_state(self.redis, self.prefix, location)
        if state["state"] != "closed":
            return self._probe_allowance(location, state)
        if self.limiter is None:
            return MAX_RELEASE_PER_TICK
        budget = self.limiter.snapshot(location)
        if budget.daily_remaining <= 0:
            return 0
        assert self.queue_depth is not None  # (set by __post_init__)
        room = budget.remaining_in_window - int(self.queue_depth(self.redis))
        return max(0, min(MAX_RELEASE_PER_TICK, room))

    def _probe_marker(self, location: str) -> str:
        return probe_released_key(self.prefix, location)

    def _probe_allowance(self, location: str, state: dict[str, Any]) -> int:
        """1 when a probe is due and no event was released for this probe slot yet.

        A slot is the probe's due time, its lease and the count of probes granted: a
        probe granted and given back (its call never reached GHL) makes a new slot, so
        another event goes at once instead of after the marker's expiry."""
        slot = (state["next_probe_ms"] or 0, state["probe_until_ms"] or 0)
        if server_now_ms(self.redis) < max(slot):
            return 0
        key = f"{slot[0]}:{slot[1]}:{state['probes']}"
        seen = self.redis.get(self._probe_marker(location))
        if seen is not None and text(seen) == key:
            return 0  # released already; if it never reached GHL, the marker expires
        self._probe_slot = key
        return 1


class SchedulerThread(threading.Thread):
    """Ticks every ``interval_ms`` until ``stop()``; ``also`` runs each tick first (the
    worker's heartbeat); ``scheduler`` None: only ``also``. Errors are logged, never
    fatal (Redis may blink)."""

    def __init__(self, scheduler: Scheduler | None, *, also: Any = None,
                 interval_ms: int = 500) -> None:
        super().__init__(name="toky-ghl-scheduler", daemon=True)
        self.scheduler = scheduler
        self.also = also
        self.interval_ms = interval_ms
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval_s = self.interval_ms / 1000
        while not self._stop_event.is_set():
            try:
                if self.also is not None:
                    self.also()
                if self.scheduler is not None:
                    self.scheduler.tick()
            except Exception as exc:  # keep ticking: the next tick retries
                log.warning("scheduler tick failed", error=f"{type(exc).__name__}: {exc}")
            self._stop_event.wait(interval_s)

    def stop(self) -> None:
        self._stop_event.set()
