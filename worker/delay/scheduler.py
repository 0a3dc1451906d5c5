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
already queued, oldest due first, so a backlog drains at the budget's pace; when
a steady stream keeps the queue that full, still one event a tick once the oldest
has waited a whole rate window past its due time, so parked events never starve.

Before releasing, a tick dead-letters (kind ``horizon``, with their history) the
events held behind a failure gate (open circuit, auth) for longer than
``GHL_RETRY_HORIZON_S``: never tried, they would never meet the pipeline's own
horizon check. Each moves from the delay store into the dead-letter store in one
script (``DelayStore.dead_letter``).

Its keys (the tick's lock, the marker of a probe on its way) are in ``worker.keys``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis
from redis import Redis

from toky_ghl.logs import get_logger
from toky_ghl.redis_conn import Scored, text
from worker.circuit import Circuit, CircuitState, circuit_state
from worker.delay.reasons import ParkReason
from worker.delay.report import parked_locations, server_now_ms
from worker.delay.store import DelayStore
from worker.dlq import DeadKind, DeadLetterStore
from worker.keys import delay_due_key, probe_released_key, scheduler_lock_key
from worker.stats import Counted, Stats

if TYPE_CHECKING:
    from toky_ghl.settings import Settings
    from worker.auth.source import TokenSource
    from worker.ratelimit.base import BudgetSnapshot


class Budgets(Protocol):
    """What the scheduler needs of the rate limiter (``worker.ratelimit.RateLimiter``)."""

    def snapshot(self, location_id: str) -> BudgetSnapshot: ...

log = get_logger("toky_ghl.scheduler")

# KEYS[1]: the tick lock; ARGV[1]: this tick's token. Deletes it only while it is ours.
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: Gates that hold events because GHL failed: past the retry horizon they are dead-lettered.
HORIZON_REASONS = frozenset({ParkReason.CIRCUIT.value, ParkReason.AUTH.value})

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
        """Dead-letter what waited past the retry horizon behind a failure gate, and release
        what is due, on every location (if no other scheduler is ticking); the count
        released."""
        lock_ms = max(1000, 4 * self.settings.delay_poll_interval_ms)
        key, token = scheduler_lock_key(self.prefix), uuid.uuid4().hex
        if not self.redis.set(key, token, nx=True, px=lock_ms):
            return 0
        try:
            released = 0
            for location in parked_locations(self.redis, self.prefix):
                self.expire(location)
                released += self.release(location)
            return released
        finally:
            # only our own lock: a tick slower than lock_ms lost it to another scheduler
            self._unlock(keys=[key], args=[token])

    def expire(self, location: str) -> int:
        """Dead-letter, with their history, ``location``'s events held behind a failure
        gate (open circuit, auth) longer than ``GHL_RETRY_HORIZON_S``: never tried, they
        would not reach the pipeline's own horizon check. How many."""
        assert self.store is not None  # (set by __post_init__)
        horizon_s = self.settings.ghl_retry_horizon_s
        now_ms = server_now_ms(self.redis)
        dlq = DeadLetterStore(self.redis, self.prefix)
        expired = 0
        for parked in self.store.parked_since(location, now_ms - horizon_s * 1000,
                                              HORIZON_REASONS):
            started_ms = min(parked.kwargs.get("since_ms") or now_ms, parked.first_parked_ms)
            waited_s = (now_ms - started_ms) // 1000
            history = [*(parked.kwargs.get("history") or []),
                       f"{_iso(now_ms)} still parked ({parked.reason}) at the horizon"]
            reason = (f"gave up after {waited_s} s of transient failures "
                      f"(GHL_RETRY_HORIZON_S={horizon_s}): parked ({parked.reason}) "
                      "and never tried since")
            parts = dlq.add_parts(parked.event, reason, DeadKind.HORIZON,
                                  history=history[-10:])
            if not self.store.dead_letter(location, parked, parts):
                continue  # released or re-parked meanwhile: it is tried again
            expired += 1
            event_type = str(parked.event.get("type", "?"))
            Stats(self.redis, self.prefix).finish(Counted.DEAD_LETTERED, event_type,
                                                  parked.event_id, DeadKind.HORIZON)
            log.warning("dead-lettered at the retry horizon", location=location,
                        event_id=parked.event_id, reason=parked.reason, waited_s=waited_s)
        return expired

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
        if state["state"] != CircuitState.CLOSED:
            return self._probe_allowance(location, state)
        if self.limiter is None:
            return MAX_RELEASE_PER_TICK
        budget = self.limiter.snapshot(location)
        if budget.daily_remaining <= 0:
            return 0
        assert self.queue_depth is not None  # (set by __post_init__)
        room = budget.remaining_in_window - int(self.queue_depth(self.redis))
        if room <= 0 and budget.remaining_in_window > 0 and self._overdue(
                location, budget.interval_ms):
            # a queue kept full by a steady stream leaves no room: one event a tick still
            # goes once the oldest has waited a window past its due time (no starvation)
            return 1
        return max(0, min(MAX_RELEASE_PER_TICK, room))

    def _overdue(self, location: str, by_ms: int) -> bool:
        """Has ``location``'s oldest due event waited ``by_ms`` past its due time?"""
        oldest = cast(Scored, self.redis.zrange(delay_due_key(self.prefix, location), 0, 0,
                                                withscores=True))
        return bool(oldest) and oldest[0][1] <= server_now_ms(self.redis) - by_ms

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

    def __init__(self, scheduler: Scheduler | None, *, also: Callable[[], object] | None = None,
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


def _iso(epoch_ms: int) -> str:
    """As the pipeline writes a history line's time."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")
