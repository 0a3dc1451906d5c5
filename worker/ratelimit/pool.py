"""Slots leased in batches per worker process: the shared budget at a fraction of the
Redis round trips (issue 12: 12 Redis commands per GHL call before, two scripts).

``PooledLimiter`` is the ``RateLimiter`` every worker process uses
(``worker.ratelimit.shared``). Per location it keeps, in this process:

- **held slots**: one ``sync`` (``sync.lua``, one script) leases up to ``want`` slots
  at once, each an entry of the shared window scored now + ``lease_ms`` like a single
  acquire's (a slot held here counts for every process as in flight), and the day's
  count goes up by as many. The process hands them to its threads without Redis while
  they are young: a slot is handed out at most ``hold_ms`` (``lease_ms / 2``, at most
  ``HOLD_MAX_MS``) after the call that leased it began, so the request it carries
  still has half the lease (at least the request timeouts) before its entry could stop
  counting. ``want`` adapts: doubled when a batch was used up while young, halved when
  held slots aged unused, from 1 up to ``batch_max``; the script grants at most a
  quarter of the window's free slots (and of the day's), at least one, so one process
  never takes the last slots another needs: near a full window every process leases
  one slot per call, as without batches.
- **pending work**, applied by the process's NEXT script (a lease, a snapshot, an
  observe, or the flusher's): finished slots (ZADD XX LT of them all: each counts from
  "now minus the ms since its answer", measured from before the call, so a little
  longer, never shorter), slots returned unused (ZREM of them all, and the day's count
  lowered by as many, never below what GHL reported), and the newest answer's
  ``X-RateLimit-*`` headers (limits followed, phantoms added, the day's count raised).
  An answer whose headers show other limits than the batch was leased under, or fewer
  remaining requests than the slots held here, sends the held slots back at once
  (they go with the next script): they were granted on a view GHL contradicts.
- a **flusher** thread (``background``) applies pending work once it waited
  ``flush_after_ms`` (an idle process does not keep its answered slots "in flight"),
  returns held slots that aged unused, and at exit (``close``, ``atexit``) returns
  every held slot. A process killed with its slots held loses them as a killed acquire
  does: they count until ``lease_ms + interval_ms`` after the lease.

The guarantees are those of one ``acquire`` per call: an entry counts from before its
request is sent until at least ``interval_ms`` after its answer (GHL counts it from its
arrival), every process of every host draws from the one window in Redis, and the
lease keeps a dead holder's slots from counting forever. A forked child forgets the
parent's pool (the parent's slots stay the parent's).
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clients.http_policy import RateLimitHeaders, rate_limit_headers
from toky_ghl.logs import get_logger
from worker.ratelimit.base import (
    DEFAULT_LEASE_MS,
    NO_HEADERS,
    BudgetSnapshot,
    Grant,
    Limits,
    RateLimiter,
    SyncBackend,
    Synced,
)

log = get_logger(__name__)

#: The most slots one call leases (``GHL_RATE_LIMIT_BATCH``'s default).
BATCH_MAX = 32
#: The longest a held slot may wait here before it is handed out.
HOLD_MAX_MS = 1000
#: The shortest wait before the flusher applies pending work.
FLUSH_MIN_MS = 50
#: A flusher with nothing to do for this long ends (the next work starts another).
FLUSHER_IDLE_EXIT_S = 60.0

#: The limiters whose held slots go back at exit (``background``); weak: a limiter
#: built for one status read does not live for the whole process.
_AT_EXIT: weakref.WeakSet[PooledLimiter] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    for limiter in list(_AT_EXIT):
        try:
            limiter.close()
        except Exception as exc:  # Redis gone: the held slots expire with their lease
            log.warning("ratelimit.close_failed", error=f"{type(exc).__name__}: {exc}")


def monotonic_ms() -> float:
    """This process's monotonic clock, in ms, not rounded (an age sent to Redis is floored
    once, from the exact difference: never longer than the real one); durations only,
    never compared with Redis's clock."""
    return time.monotonic_ns() / 1_000_000


def _age_ms(now_ms: float, then_ms: float) -> int:
    """Whole ms from ``then_ms`` to ``now_ms``, floored (a late finish counts from at most
    this long ago: its entry counts a little longer, never shorter)."""
    return max(0, math.floor(now_ms - then_ms))


@dataclass(frozen=True)
class _Held:
    slot_id: str
    day: int  # the UTC day it was leased (days since the epoch, the server's clock)
    until_ms: float  # hand it out before this (local clock)


@dataclass
class _Pool:
    """One location's slots and pending work in this process (``lock`` guards them;
    ``refill`` is held across a script, so one thread of the process runs it)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    refill: threading.Lock = field(default_factory=threading.Lock)
    held: deque[_Held] = field(default_factory=deque)
    finishes: list[tuple[str, float]] = field(default_factory=list)  # (slot, answered at)
    returns: list[tuple[str, int]] = field(default_factory=list)  # (slot, day leased)
    seen: RateLimitHeaders = NO_HEADERS  # the newest answer's headers, not yet applied
    seen_at_ms: float = 0  # when that answer came (local clock)
    pending_since_ms: float | None = None  # when the oldest pending item came
    want: int = 1
    batch_until_ms: float = 0  # the last batch's hand-out deadline
    limits: Limits | None = None  # the effective limits at the last script

    def pending(self) -> bool:
        return bool(self.finishes or self.returns or self.seen != NO_HEADERS)

    def note_pending(self, now_ms: float) -> None:
        if self.pending_since_ms is None:
            self.pending_since_ms = now_ms


class PooledLimiter(RateLimiter):
    """A ``RateLimiter`` whose slots are leased in batches (see the module docstring).

    ``backend``: a ``SyncBackend`` (``RedisBackend``); ``batch_max``: the most slots
    one call leases (1: one slot per call, finishes still batched); ``clock_ms``: the
    local clock for hand-out deadlines and answer ages (tests inject the fake clock
    their backend's server runs on); ``background``: run the flusher thread and give
    held slots back at exit (else call ``flush``/``close`` yourself).
    """

    def __init__(self, backend: SyncBackend, limits: Limits, *,
                 lease_ms: int = DEFAULT_LEASE_MS, batch_max: int = BATCH_MAX,
                 clock_ms: Callable[[], float] = monotonic_ms, background: bool = True):
        super().__init__(backend, limits, lease_ms=lease_ms)
        if batch_max < 1:
            raise ValueError(f"batch_max must be at least 1, got {batch_max}")
        self.sync_backend = backend
        self.batch_max = batch_max
        self.hold_ms = min(HOLD_MAX_MS, lease_ms // 2)
        self.clock_ms = clock_ms
        self.background = background
        self._pools: dict[str, _Pool] = {}
        self._pools_lock = threading.Lock()
        self._pid = os.getpid()
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None
        if background:
            _AT_EXIT.add(self)

    # -- the RateLimiter interface ------------------------------------------------------
    def acquire(self, location_id: str) -> Grant:
        """A held slot of ``location_id`` when one is young enough, else one script:
        the pending work, then a new batch (or how long to wait)."""
        if not location_id:
            raise ValueError("location_id must not be empty")
        pool = self._pool(location_id)
        with pool.lock:
            held = self._take(pool)
        if held is not None:
            return Grant(True, 0, location_id, held.slot_id, None)
        with pool.refill:
            with pool.lock:  # another thread may have leased a batch meanwhile
                held = self._take(pool)
                if held is not None:
                    return Grant(True, 0, location_id, held.slot_id, None)
                now_ms = self.clock_ms()
                if pool.batch_until_ms and now_ms < pool.batch_until_ms:
                    pool.want = min(self.batch_max, pool.want * 2)  # used up while young
                want = pool.want
            batch_id = uuid.uuid4().hex
            synced, started_ms = self._sync(location_id, pool, want=want, batch_id=batch_id)
            if not synced.slots:
                return Grant(False, max(1, synced.wait_ms), location_id, None, synced.reason)
            first, *rest = synced.slots
            with pool.lock:
                pool.batch_until_ms = started_ms + self.hold_ms
                pool.held.extend(_Held(s, synced.day, pool.batch_until_ms) for s in rest)
            if rest:
                self._wake_flusher()
            return Grant(True, 0, location_id, first, None)

    def release(self, grant: Grant) -> None:
        """The request is over (no answer came): its slot counts from now on, applied by
        the process's next script."""
        if grant.ok and grant.slot_id:
            self._finished(grant, NO_HEADERS)

    def finish(self, grant: Grant, headers: Mapping[str, str]) -> None:
        """An answer arrived: release the slot and keep the headers (newest wins) for the
        next script; held slots go back when the headers contradict them."""
        if not (grant.ok and grant.slot_id):
            self.observe(grant.location_id, headers)
            return
        self._finished(grant, rate_limit_headers(headers))

    def observe(self, location_id: str, headers: Mapping[str, str]) -> None:
        """Correct the budget from GHL's headers now (with the pending work)."""
        seen = rate_limit_headers(headers)
        if seen != NO_HEADERS:
            pool = self._pool(location_id)
            with pool.refill:
                with pool.lock:
                    self._note_seen(pool, seen)
                self._sync(location_id, pool)

    def snapshot(self, location_id: str) -> BudgetSnapshot:
        """The budget after the pending work; slots held here (not yet handed out) count
        as free: this process's requests will use them."""
        pool = self._pool(location_id)
        with pool.refill:
            synced, _ = self._sync(location_id, pool, report=True)
            with pool.lock:
                held = len(pool.held)
        assert synced.limits is not None  # (a report reads them)
        return BudgetSnapshot.from_counts(synced.limits,
                                          max(0, synced.used_in_window - held),
                                          max(0, synced.daily_used - held))

    # -- pending work ---------------------------------------------------------------
    def flush(self, location_id: str | None = None, *, everything: bool = False) -> None:
        """Apply the pending work now (of one location, or of all), and give back the held
        slots that aged unused (``everything``: every held slot)."""
        for location in [location_id] if location_id else self._locations():
            pool = self._pool(location)
            with pool.refill:
                with pool.lock:
                    if everything:
                        self._return_held(pool, len(pool.held))
                    else:
                        self._take(pool, expired_only=True)
                    if not pool.pending():
                        continue
                self._sync(location, pool)

    def close(self) -> None:
        """Give every held slot back and apply the pending work; stop the flusher."""
        self._closed = True
        self._wake.set()
        if os.getpid() == self._pid:
            self.flush(everything=True)

    def _finished(self, grant: Grant, seen: RateLimitHeaders) -> None:
        assert grant.slot_id is not None
        pool = self._pool(grant.location_id)
        now_ms = self.clock_ms()
        with pool.lock:
            was_pending = pool.pending()
            pool.finishes.append((grant.slot_id, now_ms))
            pool.note_pending(now_ms)
            if seen != NO_HEADERS:
                self._note_seen(pool, seen)
        if not was_pending:
            self._wake_flusher()

    def _note_seen(self, pool: _Pool, seen: RateLimitHeaders) -> None:
        """Keep ``seen`` for the next script; send the held slots back when GHL
        contradicts the view they were leased on (caller holds ``pool.lock``)."""
        pool.seen, pool.seen_at_ms = seen, self.clock_ms()
        pool.note_pending(pool.seen_at_ms)
        known = pool.limits
        changed = known is not None and (  # (no generator: once per answer)
            (seen.max_requests is not None and seen.max_requests != known.max_requests)
            or (seen.interval_ms is not None and seen.interval_ms != known.interval_ms)
            or (seen.daily_limit is not None and seen.daily_limit != known.daily_max))
        short = seen.remaining is not None and seen.remaining < len(pool.held)
        if changed or short:
            self._return_held(pool, len(pool.held))
            pool.want = 1

    def _take(self, pool: _Pool, *, expired_only: bool = False) -> _Held | None:
        """A held slot young enough to hand out (None: none; ``expired_only``: none is
        taken); the ones that aged go back (caller holds ``pool.lock``)."""
        now_ms = self.clock_ms()
        aged = 0
        while pool.held and pool.held[0].until_ms <= now_ms:
            aged += 1
            held = pool.held.popleft()
            pool.returns.append((held.slot_id, held.day))
        if aged:
            pool.note_pending(now_ms)
            pool.want = max(1, pool.want // 2)
        if expired_only or not pool.held:
            return None
        return pool.held.popleft()

    def _return_held(self, pool: _Pool, n: int) -> None:
        for _ in range(n):
            held = pool.held.popleft()
            pool.returns.append((held.slot_id, held.day))
        if n:
            pool.note_pending(self.clock_ms())

    def _sync(self, location_id: str, pool: _Pool, *, want: int = 0, batch_id: str = "",
              report: bool = False) -> tuple[Synced, float]:
        """One script with the pool's pending work (caller holds ``pool.refill``); the
        answer and the local time the call began. On an error the work stays pending."""
        with pool.lock:
            finishes, returns, seen, seen_at = (pool.finishes, pool.returns, pool.seen,
                                                pool.seen_at_ms)
            pool.finishes, pool.returns, pool.seen = [], [], NO_HEADERS
            since, pool.pending_since_ms = pool.pending_since_ms, None
            started_ms = self.clock_ms()
        try:
            synced = self.sync_backend.sync(
                location_id, self.limits, lease_ms=self.lease_ms, want=want,
                batch_id=batch_id, finishes=[(s, _age_ms(started_ms, at)) for s, at in finishes],
                returns=returns, seen=seen, seen_ago_ms=_age_ms(started_ms, seen_at),
                report=report)
        except BaseException:
            with pool.lock:
                pool.finishes[:0], pool.returns[:0] = finishes, returns
                if pool.seen == NO_HEADERS:
                    pool.seen, pool.seen_at_ms = seen, seen_at
                if since is not None:
                    pool.pending_since_ms = min(since, pool.pending_since_ms or since)
            raise
        if synced.limits is not None:
            with pool.lock:
                pool.limits = synced.limits
        return synced, started_ms

    # -- the process's pools and flusher ------------------------------------------------
    def _pool(self, location_id: str) -> _Pool:
        if self._pid == os.getpid():  # twice per call: no lock once the pool is made
            pool = self._pools.get(location_id)
            if pool is not None:
                return pool
        with self._pools_lock:
            if os.getpid() != self._pid:  # a forked child: the parent's slots stay its own
                self._pools, self._flusher = {}, None
                self._wake = threading.Event()
                self._pid = os.getpid()  # last: a thread seeing it sees the new pools
            pool = self._pools.get(location_id)
            if pool is None:
                pool = self._pools[location_id] = _Pool()
            return pool

    def _locations(self) -> list[str]:
        with self._pools_lock:
            return list(self._pools)

    def _wake_flusher(self) -> None:
        if not self.background or self._closed:
            return
        with self._pools_lock:  # (the flusher ends only under this lock, unwoken)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                 name="toky-ghl-ratelimit-flusher")
                self._flusher.start()
            self._wake.set()

    def flush_after_ms(self, pool: _Pool) -> int:
        """How long pending work may wait for a script of this process's own."""
        interval_ms = (pool.limits or self.limits).interval_ms
        return max(FLUSH_MIN_MS, min(self.hold_ms, interval_ms // 2))

    def _due_ms(self, pool: _Pool) -> float | None:
        """When the flusher has work in ``pool`` (local clock), None: none."""
        with pool.lock:
            due = [pool.held[0].until_ms] if pool.held else []
            if pool.pending_since_ms is not None:
                due.append(pool.pending_since_ms + self.flush_after_ms(pool))
        return min(due, default=None)

    def _flush_loop(self) -> None:
        while not self._closed:
            now_ms = self.clock_ms()
            due = {location: self._due_ms(self._pool(location))
                   for location in self._locations()}
            for location, due_ms in due.items():
                if due_ms is not None and due_ms <= now_ms:
                    try:
                        self.flush(location)
                    except Exception as exc:  # Redis blinked: the work stays pending
                        log.warning("ratelimit.flush_failed", location=location,
                                    error=f"{type(exc).__name__}: {exc}")
                        time.sleep(FLUSH_MIN_MS / 1000)
            upcoming = [d for d in due.values() if d is not None and d > now_ms]
            if upcoming:
                self._wake.wait(timeout=(min(upcoming) - now_ms) / 1000)
            elif (not any(d is not None for d in due.values())
                  and not self._wake.wait(timeout=FLUSHER_IDLE_EXIT_S)):
                with self._pools_lock:  # idle: end, unless woken meanwhile
                    if not self._wake.is_set():
                        self._flusher = None
                        return
            self._wake.clear()
