"""The limiter's behaviour, the SAME tests for every backend.

``memory``: MemoryBackend with a fake clock. ``fakeredis``: the Lua scripts run by
fakeredis, whose ``TIME`` is the same kind of fake clock. Both are exact: a test
moves the clock to the millisecond a slot frees and checks both sides of it.
``*-pooled``: the same backends behind ``PooledLimiter`` (slots leased in batches per
process, finishes applied with the process's next call; its local clock is the fake
one, or the real monotonic clock beside a real Redis): what a worker uses.
``redis``: the Lua scripts on a real Redis (integration; ``TEST_REDIS_URL``), whose
clock is real and cannot be moved. There every call whose answer depends on the time
is bracketed by the server's ``TIME`` read just before and just after it, and its
answer is checked against that bracket (no slack). A check that must happen BEFORE a
moment (a slot still counts) proves nothing if a busy machine stalled past that
moment: the scenario is then run again with a fresh location (``Late``), up to
``ATTEMPTS`` times, so a slow step never fails a test and never skips a check.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import fakeredis
import pytest
from fakeredis.commands_mixins import server_mixin

from worker.ratelimit import Limits, MemoryBackend, PooledLimiter, RateLimiter, RedisBackend
from worker.ratelimit.base import DAY_MS
from worker.ratelimit.pool import monotonic_ms

ATTEMPTS = 6  # real Redis: runs of a scenario before a slow machine fails it


class FakeClock:
    def __init__(self, now_ms: int):
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


class Late(Exception):
    """A step on the real clock ran past the moment its check needs: run again."""


@dataclass(frozen=True)
class Timed:
    """A call's result and the clock just before (``lo``) and just after (``hi``) it, ms."""

    result: Any
    lo: int
    hi: int


def between(value: int, lo: int, hi: int) -> None:
    assert lo <= value <= hi, f"{value} not within [{lo}, {hi}]"


@dataclass
class Harness:
    kind: str
    backend: object
    clock: FakeClock | None  # None: the real Redis server's clock
    client: Any = None
    interval_ms: int = 10_000  # a window that suits this backend's clock
    #: how close before a moment a step aims (a real clock overshoots a sleep)
    margin_ms: int = 1

    pooled: bool = False  # PooledLimiter (no flusher thread: the steps call it)
    made: list = field(default_factory=list)  # the pooled limiters made

    def limiter(self, max_requests=3, *, interval_ms=None, daily_max=1000, lease_ms=60_000):
        limits = Limits(max_requests, interval_ms or self.interval_ms, daily_max)
        if self.pooled:
            clock = self.clock if self.clock is not None else monotonic_ms
            self.made.append(PooledLimiter(self.backend, limits, lease_ms=lease_ms,
                                           clock_ms=clock, background=False))
            return self.made[-1]
        return RateLimiter(self.backend, limits, lease_ms=lease_ms)

    def _now_us(self) -> int:
        if self.clock is not None:
            return self.clock.now * 1000
        seconds, micros = self.client.time()
        return seconds * 1_000_000 + micros

    def at(self, call: Callable[[], Any]) -> Timed:
        """Run ``call``; its result with the clock's bracket (floored before, ceiled after,
        as the scripts floor and ceil the server's microseconds)."""
        lo = self._now_us() // 1000
        result = call()
        if self.clock is None:
            # a pooled finish is applied by the process's next script, counting from the
            # answer as measured on the local clock, plus that script's own delay (a few
            # ms: never shorter, a little longer); on the real clock, whose delays are
            # not exact, the step's bracket includes that script (with the fake clock
            # the late script is exact, and the steps leave it to the next call)
            for limiter in self.made:
                limiter.flush()
        return Timed(result, lo, math.ceil(self._now_us() / 1000))

    def before(self, moment_ms: int, call: Callable[[], Any]) -> Timed:
        """Run ``call``, which must run strictly before ``moment_ms`` for its check."""
        timed = self.at(call)
        if timed.hi >= moment_ms:
            if self.clock is not None:
                raise AssertionError(f"the fake clock is past {moment_ms}: the test is wrong")
            raise Late(f"{self.kind}: a step ended at {timed.hi}, past {moment_ms}")
        return timed

    def sleep_until(self, moment_ms: int) -> None:
        """Move the fake clock to ``moment_ms``, or wait until the server's clock reached it."""
        if self.clock is not None:
            assert moment_ms >= self.clock.now, "a fake clock never goes back"
            self.clock.now = moment_ms
            return
        while (left_ms := moment_ms - self._now_us() / 1000) > 0:
            time.sleep(left_ms / 1000)

    def run(self, scenario: Callable[[str], None]) -> None:
        """Run ``scenario(location_id)``; on a real clock, again while it comes out Late."""
        attempts = 1 if self.clock is not None else ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                scenario(f"loc-{uuid.uuid4().hex[:8]}")
                return
            except Late as late:
                if attempt == attempts:
                    raise AssertionError(
                        f"the machine was too slow to time this check {attempts} times: {late}"
                    ) from late


def _fakeredis_harness(monkeypatch) -> Harness:
    # fakeredis answers TIME (in Lua too) from its server_mixin module's ``time.time``;
    # the clock starts at the real time so that absolute expiries (PEXPIREAT), which
    # fakeredis judges by the real time, stay in the future
    clock = FakeClock(time.time_ns() // 1_000_000)
    monkeypatch.setattr(server_mixin, "time", SimpleNamespace(time=lambda: clock.now / 1000))
    client = fakeredis.FakeRedis()
    return Harness("fakeredis", RedisBackend(client, prefix="test"), clock, client)


@pytest.fixture(
    params=["memory", "fakeredis", "fakeredis-pooled",
            pytest.param("redis", marks=pytest.mark.integration),
            pytest.param("redis-pooled", marks=pytest.mark.integration)]
)
def h(request, monkeypatch) -> Harness:
    if request.param == "memory":
        clock = FakeClock(1_714_564_800_000)  # 2024-05-01T12:00:00Z, 12 h before midnight
        return Harness("memory", MemoryBackend(clock), clock)
    if request.param.startswith("fakeredis"):
        harness = _fakeredis_harness(monkeypatch)
    else:
        client = request.getfixturevalue("real_redis")
        harness = Harness("redis", RedisBackend(client, prefix="test"), None, client,
                          interval_ms=600, margin_ms=150)
    harness.pooled = request.param.endswith("-pooled")
    return harness


def take(limiter: RateLimiter, location_id: str, n: int) -> list:
    grants = [limiter.acquire(location_id) for _ in range(n)]
    assert all(g.ok and g.slot_id and g.wait_ms == 0 and g.reason is None for g in grants), grants
    return grants


def test_grants_max_then_refuses_with_wait_of_one_window(h):
    def scenario(loc):
        # Given a budget of 3 per window
        limiter = h.limiter(3)
        # When 4 requests ask at once (none answered yet)
        take(limiter, loc, 3)
        refused = limiter.acquire(loc)
        # Then the 4th waits: a slot in flight frees interval_ms after its answer at the earliest
        assert (refused.ok, refused.reason, refused.slot_id) == (False, "burst", None)
        assert refused.wait_ms == h.interval_ms
        assert refused.location_id == loc

    h.run(scenario)


def test_wait_counts_from_the_oldest_completion(h):
    def scenario(loc):
        # Given a full window whose first request completed a third of a window ago
        limiter = h.limiter(3)
        first, *_ = take(limiter, loc, 3)
        released = h.at(lambda: limiter.release(first))
        h.sleep_until(released.hi + h.interval_ms // 3)
        # When another request asks (while that completion still counts)
        ask = h.before(released.lo + h.interval_ms, lambda: limiter.acquire(loc))
        # Then it waits until that completion is a window old
        assert ask.result.reason == "burst"
        between(ask.result.wait_ms, released.lo + h.interval_ms - ask.hi,
                released.hi + h.interval_ms - ask.lo)

    h.run(scenario)


def test_when_ghl_lowers_max_the_wait_runs_until_enough_entries_left(h):
    def scenario(loc):
        # Given three requests completed at t0, t0 + interval/4 and t0 + interval/2
        limiter = h.limiter(3)
        done = []
        for step in range(3):
            grant = take(limiter, loc, 1)[0]
            done.append(h.at(lambda g=grant: limiter.release(g)))
            if step < 2:
                h.sleep_until(done[-1].hi + h.interval_ms // 4)
        # When GHL lowers the max to 1 (all three must leave before one may start)
        limiter.observe(loc, {"X-RateLimit-Max": "1"})
        ask = h.before(done[0].lo + h.interval_ms, lambda: limiter.acquire(loc))
        # Then the wait runs until the NEWEST completion is a window old
        newest = done[-1]
        assert ask.result.reason == "burst"
        between(ask.result.wait_ms, newest.lo + h.interval_ms - ask.hi,
                newest.hi + h.interval_ms - ask.lo)

    h.run(scenario)


def test_window_slides_freeing_each_slot_one_window_after_its_completion(h):
    def scenario(loc):
        # Given one request done at t0 and two done half a window later
        limiter = h.limiter(3)
        grant = take(limiter, loc, 1)[0]
        t0 = h.at(lambda: limiter.release(grant))
        h.sleep_until(t0.hi + h.interval_ms // 2)
        later = [h.at(lambda g=g: limiter.release(g)) for g in take(limiter, loc, 2)]
        # When time reaches just before t0 + interval: still full
        h.sleep_until(t0.hi + h.interval_ms - h.margin_ms)
        assert h.before(t0.lo + h.interval_ms, lambda: limiter.acquire(loc)).result.reason \
            == "burst"
        # Then from t0 + interval exactly one slot is free, the others half a window later
        h.sleep_until(t0.hi + h.interval_ms)
        h.before(later[0].lo + h.interval_ms, lambda: take(limiter, loc, 1))
        ask = h.before(later[0].lo + h.interval_ms, lambda: limiter.acquire(loc))
        assert ask.result.reason == "burst"
        between(ask.result.wait_ms, later[0].lo + h.interval_ms - ask.hi,
                later[0].hi + h.interval_ms - ask.lo)

    h.run(scenario)


def test_release_moves_the_slot_expiry_to_the_completion_time(h):
    def scenario(loc):
        # Given a full window, its first request answered half a window after the acquire
        limiter = h.limiter(3)
        acquired = h.at(lambda: take(limiter, loc, 3))
        first = acquired.result[0]
        h.sleep_until(acquired.hi + h.interval_ms // 2)
        answered = h.at(lambda: limiter.release(first))
        # When a window has passed since the ACQUIRE, but not since the answer
        h.sleep_until(acquired.hi + h.interval_ms)
        # Then the slot is still taken
        ask = h.before(answered.lo + h.interval_ms, lambda: limiter.acquire(loc))
        assert ask.result.reason == "burst"
        # And a window after the answer it is free (only that one: the others are in flight)
        h.sleep_until(answered.hi + h.interval_ms)
        take(limiter, loc, 1)
        assert limiter.acquire(loc).reason == "burst"

    h.run(scenario)


def test_lease_expiry_frees_the_slots_of_a_dead_process(h):
    def scenario(loc):
        # Given a process that took both slots and died (never released)
        lease_ms = h.interval_ms // 2
        limiter = h.limiter(2, lease_ms=lease_ms)
        acquired = h.at(lambda: take(limiter, loc, 2))
        # When lease + interval has nearly passed: still taken
        h.sleep_until(acquired.hi + lease_ms + h.interval_ms - h.margin_ms)
        ask = h.before(acquired.lo + lease_ms + h.interval_ms, lambda: limiter.acquire(loc))
        assert ask.result.reason == "burst"
        # Then from lease + interval on both slots are free again
        h.sleep_until(acquired.hi + lease_ms + h.interval_ms)
        take(limiter, loc, 2)

    h.run(scenario)


def test_daily_limit_blocks_until_next_utc_midnight(h):
    def scenario(loc):
        # Given a daily budget of 2, both used and released
        limiter = h.limiter(10, daily_max=2)
        for grant in take(limiter, loc, 2):
            limiter.release(grant)
        # When a third request asks
        ask = h.at(lambda: limiter.acquire(loc))
        if ask.lo // DAY_MS != ask.hi // DAY_MS:
            raise Late("the call straddled midnight")
        # Then it is refused for the day, until the next UTC midnight
        midnight = (ask.lo // DAY_MS + 1) * DAY_MS
        assert (ask.result.ok, ask.result.reason) == (False, "daily")
        between(ask.result.wait_ms, midnight - ask.hi, midnight - ask.lo)
        snap = limiter.snapshot(loc)
        assert (snap.daily_used, snap.daily_remaining) == (2, 0)

    h.run(scenario)


def test_snapshot_reports_effective_limits_and_use(h):
    def scenario(loc):
        # Given 2 of 5 slots taken
        limiter = h.limiter(5, daily_max=100)
        take(limiter, loc, 2)
        # When the budget is read
        snap = limiter.snapshot(loc)
        # Then it shows the limits and both counts
        assert (snap.max_requests, snap.interval_ms, snap.daily_max) == (5, h.interval_ms, 100)
        assert (snap.used_in_window, snap.remaining_in_window) == (2, 3)
        assert (snap.daily_used, snap.daily_remaining) == (2, 98)

    h.run(scenario)


def test_observe_lower_remaining_adds_phantoms(h):
    def scenario(loc):
        # Given 1 of 10 slots taken by us
        limiter = h.limiter(10, daily_max=1000)
        take(limiter, loc, 1)
        # When GHL says only 4 remain (6 used) and 990 remain today
        seen = h.at(lambda: limiter.observe(loc, {
            "X-RateLimit-Max": "10",
            "X-RateLimit-Remaining": "4",
            "X-RateLimit-Daily-Remaining": "990",
        }))
        # Then GHL is believed: 6 used, so exactly 4 more grants, and 10 used today
        # (while the phantoms count: a window from the observe)
        counted_until = seen.lo + h.interval_ms
        snap = h.before(counted_until, lambda: limiter.snapshot(loc)).result
        assert (snap.used_in_window, snap.daily_used) == (6, 10)
        h.before(counted_until, lambda: take(limiter, loc, 4))
        assert h.before(counted_until, lambda: limiter.acquire(loc)).result.reason == "burst"

    h.run(scenario)


def test_observe_follows_ghl_max_and_interval_over_configuration(h):
    def scenario(loc):
        # Given a configured 10 per window
        limiter = h.limiter(10)
        # When GHL says 2 per double window, and a daily limit of 500
        limiter.observe(
            loc,
            {
                "x-ratelimit-max": "2",
                "x-ratelimit-interval-milliseconds": str(2 * h.interval_ms),
                "x-ratelimit-limit-daily": "500",
            },
        )
        # Then GHL's limits apply
        snap = limiter.snapshot(loc)
        assert (snap.max_requests, snap.interval_ms, snap.daily_max) == (2, 2 * h.interval_ms, 500)
        take(limiter, loc, 2)
        refused = limiter.acquire(loc)
        assert (refused.reason, refused.wait_ms) == ("burst", 2 * h.interval_ms)

    h.run(scenario)


def test_observe_higher_remaining_changes_nothing(h):
    def scenario(loc):
        # Given 3 of 10 slots and 3 of the day taken
        limiter = h.limiter(10, daily_max=1000)
        take(limiter, loc, 3)
        # When GHL says more remain than we think (e.g. slow or stale answer)
        limiter.observe(
            loc,
            {
                "X-RateLimit-Max": "10",
                "X-RateLimit-Remaining": "10",
                "X-RateLimit-Limit-Daily": "1000",
                "X-RateLimit-Daily-Remaining": "1000",
            },
        )
        # Then nothing is given back
        snap = limiter.snapshot(loc)
        assert (snap.used_in_window, snap.daily_used, snap.max_requests) == (3, 3, 10)

    h.run(scenario)


def test_observe_ignores_missing_and_garbage_headers(h):
    def scenario(loc):
        # Given one slot of 5 taken
        limiter = h.limiter(5)
        take(limiter, loc, 1)
        # When the answer has garbage or no rate-limit headers
        limiter.observe(
            loc,
            {
                "X-RateLimit-Max": "lots",
                "X-RateLimit-Remaining": "-3",
                "X-RateLimit-Interval-Milliseconds": "0",
                "Content-Type": "x",
            },
        )
        limiter.observe(loc, {})
        # Then the budget is unchanged
        snap = limiter.snapshot(loc)
        assert (snap.max_requests, snap.interval_ms, snap.used_in_window) == (5, h.interval_ms, 1)

    h.run(scenario)


def test_locations_have_independent_budgets(h):
    def scenario(loc):
        # Given location A full and corrected by GHL
        limiter = h.limiter(2)
        other = loc + "-b"
        take(limiter, loc, 2)
        limiter.observe(loc, {"X-RateLimit-Max": "1", "X-RateLimit-Remaining": "0"})
        assert limiter.acquire(loc).reason == "burst"
        # When location B asks
        # Then B has its own full budget and configured limits
        take(limiter, other, 2)
        snap = limiter.snapshot(other)
        assert (snap.max_requests, snap.used_in_window) == (2, 2)

    h.run(scenario)


def test_release_of_a_refused_grant_changes_nothing(h):
    def scenario(loc):
        # Given a full window and a refused grant
        limiter = h.limiter(1)
        take(limiter, loc, 1)
        refused = limiter.acquire(loc)
        # When the refused grant is released
        limiter.release(refused)
        # Then the window is still full
        assert limiter.snapshot(loc).used_in_window == 1
        assert limiter.acquire(loc).reason == "burst"

    h.run(scenario)


def test_a_late_release_of_an_expired_slot_takes_no_budget(h):
    def scenario(loc):
        # Given a slot whose lease ran out (its process stalled) and whose window passed
        lease_ms = h.interval_ms // 2
        limiter = h.limiter(1, lease_ms=lease_ms)
        acquired = h.at(lambda: take(limiter, loc, 1))
        h.sleep_until(acquired.hi + lease_ms + h.interval_ms)
        # When the stalled process finally releases it
        limiter.release(acquired.result[0])
        # Then it is not counted again: the whole budget is free
        assert limiter.snapshot(loc).used_in_window == 0
        take(limiter, loc, 1)

    h.run(scenario)


def test_a_late_release_does_not_take_a_second_slot_beside_a_new_one(h):
    def scenario(loc):
        # Given a stalled slot that expired, and another request that took the freed slot
        lease_ms = h.interval_ms // 2
        limiter = h.limiter(2, lease_ms=lease_ms)
        acquired = h.at(lambda: take(limiter, loc, 2))
        h.sleep_until(acquired.hi + lease_ms + h.interval_ms)
        new = h.at(lambda: take(limiter, loc, 1))
        # When the stalled one is released late
        limiter.release(acquired.result[0])
        # Then only the new request counts (while its own lease and window last)
        snap = h.before(new.lo + lease_ms + h.interval_ms, lambda: limiter.snapshot(loc))
        assert snap.result.used_in_window == 1

    h.run(scenario)


def test_finish_releases_the_slot_and_follows_the_headers(h):
    def scenario(loc):
        # Given 2 of 3 slots in flight
        limiter = h.limiter(3)
        answered, still_in_flight = take(limiter, loc, 2)
        # When the first answer arrives and GHL says none is left (it counted a request we
        # did not)
        finished = h.at(lambda: limiter.finish(
            answered, {"X-RateLimit-Max": "3", "X-RateLimit-Remaining": "0"}))
        # Then the window is full (for a window from the answer)
        counted_until = finished.lo + h.interval_ms
        assert h.before(counted_until, lambda: limiter.snapshot(loc)).result.used_in_window == 3
        assert h.before(counted_until, lambda: limiter.acquire(loc)).result.reason == "burst"
        # And once the interval passed, only the request still in flight counts: the answered
        # slot was released (it counted from its answer on), the phantom left with it
        h.sleep_until(finished.hi + h.interval_ms)
        assert limiter.snapshot(loc).used_in_window == 1
        limiter.finish(still_in_flight, {})

    h.run(scenario)
