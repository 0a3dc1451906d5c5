"""The limiter's behaviour, the SAME tests for every backend.

``memory``: MemoryBackend with a fake clock (exact times). ``fakeredis``: the
Lua scripts run by fakeredis. ``redis``: the Lua scripts on a real Redis
(integration; ``TEST_REDIS_URL``). On Redis the clock is real, so windows are
short (300 ms), sleeps real, and times are checked within ``slack_ms``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import fakeredis
import pytest

from worker.ratelimit import Limits, MemoryBackend, RateLimiter, RedisBackend
from worker.ratelimit.base import DAY_MS

NOON_UTC_MS = 1_714_564_800_000  # 2024-05-01T12:00:00Z, 12 h before midnight


class FakeClock:
    def __init__(self, now_ms: int):
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


@dataclass
class Harness:
    kind: str
    backend: object
    now_ms: Callable[[], int]
    sleep_ms: Callable[[int], None]
    interval_ms: int  # a window that suits this backend's clock
    slack_ms: int  # how far a real clock may be off what the test expects

    def limiter(self, max_requests=3, *, interval_ms=None, daily_max=1000, lease_ms=60_000):
        limits = Limits(max_requests, interval_ms or self.interval_ms, daily_max)
        return RateLimiter(self.backend, limits, lease_ms=lease_ms)


def _redis_harness(kind: str, client) -> Harness:
    def now_ms() -> int:
        seconds, micros = client.time()
        return seconds * 1000 + micros // 1000

    return Harness(
        kind,
        RedisBackend(client, prefix="test"),
        now_ms,
        lambda ms: time.sleep(ms / 1000),
        interval_ms=300,
        slack_ms=60,
    )


@pytest.fixture(
    params=["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.integration)]
)
def h(request) -> Harness:
    if request.param == "memory":
        clock = FakeClock(NOON_UTC_MS)

        def advance(ms: int) -> None:
            clock.now += ms

        return Harness("memory", MemoryBackend(clock), clock, advance, 10_000, 0)
    if request.param == "fakeredis":
        return _redis_harness("fakeredis", fakeredis.FakeRedis())
    return _redis_harness("redis", request.getfixturevalue("real_redis"))


@pytest.fixture
def loc() -> str:
    return f"loc-{uuid.uuid4().hex[:8]}"


def take(limiter: RateLimiter, location_id: str, n: int) -> list:
    grants = [limiter.acquire(location_id) for _ in range(n)]
    assert all(g.ok and g.slot_id and g.wait_ms == 0 and g.reason is None for g in grants), grants
    return grants


def test_grants_max_then_refuses_with_wait_of_one_window(h, loc):
    # Given a budget of 3 per window
    limiter = h.limiter(3)
    # When 4 requests ask at once (none answered yet)
    take(limiter, loc, 3)
    refused = limiter.acquire(loc)
    # Then the 4th waits: a slot in flight frees interval_ms after its answer at the earliest
    assert (refused.ok, refused.reason, refused.slot_id) == (False, "burst", None)
    assert refused.wait_ms == h.interval_ms
    assert refused.location_id == loc


def test_wait_counts_from_the_oldest_completion(h, loc):
    # Given a full window whose first request completed a third of a window ago
    limiter = h.limiter(3)
    first, *_ = take(limiter, loc, 3)
    limiter.release(first)
    released_at = h.now_ms()
    h.sleep_ms(h.interval_ms // 3)
    # When another request asks
    refused = limiter.acquire(loc)
    # Then it waits until that completion is a window old
    expected = released_at + h.interval_ms - h.now_ms()
    assert refused.reason == "burst"
    assert abs(refused.wait_ms - expected) <= h.slack_ms


def test_when_ghl_lowers_max_the_wait_runs_until_enough_entries_left(h, loc):
    # Given three requests completed at t0, t0 + interval/4 and t0 + interval/2
    limiter = h.limiter(3)
    for step in range(3):
        limiter.release(take(limiter, loc, 1)[0])
        if step < 2:
            h.sleep_ms(h.interval_ms // 4)
    newest_at = h.now_ms()
    # When GHL lowers the max to 1 (all three must leave before one may start)
    limiter.observe(loc, {"X-RateLimit-Max": "1"})
    refused = limiter.acquire(loc)
    # Then the wait runs until the NEWEST completion is a window old
    assert refused.reason == "burst"
    assert abs(refused.wait_ms - (newest_at + h.interval_ms - h.now_ms())) <= h.slack_ms


def test_window_slides_freeing_each_slot_one_window_after_its_completion(h, loc):
    # Given one request done at t0 and two done half a window later
    limiter = h.limiter(3)
    limiter.release(take(limiter, loc, 1)[0])
    h.sleep_ms(h.interval_ms // 2)
    for grant in take(limiter, loc, 2):
        limiter.release(grant)
    # When time reaches just before t0 + interval: still full
    h.sleep_ms(h.interval_ms // 2 - h.slack_ms - 1)
    assert limiter.acquire(loc).reason == "burst"
    # Then just after t0 + interval exactly one slot is free, the others half a window later
    h.sleep_ms(2 * h.slack_ms + 2)
    take(limiter, loc, 1)
    refused = limiter.acquire(loc)
    assert refused.reason == "burst"
    assert abs(refused.wait_ms - (h.interval_ms // 2 - h.slack_ms - 1)) <= 2 * h.slack_ms + 1


def test_release_moves_the_slot_expiry_to_the_completion_time(h, loc):
    # Given a full window, its first request answered half a window after the acquire
    limiter = h.limiter(3)
    first, *_ = take(limiter, loc, 3)
    h.sleep_ms(h.interval_ms // 2)
    limiter.release(first)
    # When a window has passed since the ACQUIRE, but not since the answer
    h.sleep_ms(h.interval_ms // 2 + h.slack_ms)
    # Then the slot is still taken
    assert limiter.acquire(loc).reason == "burst"
    # And a window after the answer it is free (only that one: the others are in flight)
    h.sleep_ms(h.interval_ms // 2)
    take(limiter, loc, 1)
    assert limiter.acquire(loc).reason == "burst"


def test_lease_expiry_frees_the_slots_of_a_dead_process(h, loc):
    # Given a process that took both slots and died (never released)
    lease_ms = h.interval_ms // 2
    limiter = h.limiter(2, lease_ms=lease_ms)
    take(limiter, loc, 2)
    # When lease + interval has nearly passed: still taken
    h.sleep_ms(lease_ms + h.interval_ms - h.slack_ms - 1)
    assert limiter.acquire(loc).reason == "burst"
    # Then after lease + interval both slots are free again
    h.sleep_ms(2 * h.slack_ms + 2)
    take(limiter, loc, 2)


def test_daily_limit_blocks_until_next_utc_midnight(h, loc):
    # Given a daily budget of 2, both used and released
    limiter = h.limiter(10, daily_max=2)
    for grant in take(limiter, loc, 2):
        limiter.release(grant)
    # When a third request asks
    refused = limiter.acquire(loc)
    # Then it is refused for the day, until the next UTC midnight
    now = h.now_ms()
    assert (refused.ok, refused.reason) == (False, "daily")
    assert abs(refused.wait_ms - ((now // DAY_MS + 1) * DAY_MS - now)) <= h.slack_ms
    snap = limiter.snapshot(loc)
    assert (snap.daily_used, snap.daily_remaining) == (2, 0)


def test_snapshot_reports_effective_limits_and_use(h, loc):
    # Given 2 of 5 slots taken
    limiter = h.limiter(5, daily_max=100)
    take(limiter, loc, 2)
    # When the budget is read
    snap = limiter.snapshot(loc)
    # Then it shows the limits and both counts
    assert (snap.max_requests, snap.interval_ms, snap.daily_max) == (5, h.interval_ms, 100)
    assert (snap.used_in_window, snap.remaining_in_window) == (2, 3)
    assert (snap.daily_used, snap.daily_remaining) == (2, 98)


def test_observe_lower_remaining_adds_phantoms(h, loc):
    # Given 1 of 10 slots taken by us
    limiter = h.limiter(10, daily_max=1000)
    take(limiter, loc, 1)
    # When GHL says only 4 remain (6 used) and 990 remain today
    limiter.observe(
        loc,
        {
            "X-RateLimit-Max": "10",
            "X-RateLimit-Remaining": "4",
            "X-RateLimit-Daily-Remaining": "990",
        },
    )
    # Then GHL is believed: 6 used, so exactly 4 more grants, and 10 used today
    snap = limiter.snapshot(loc)
    assert (snap.used_in_window, snap.daily_used) == (6, 10)
    take(limiter, loc, 4)
    assert limiter.acquire(loc).reason == "burst"


def test_observe_follows_ghl_max_and_interval_over_configuration(h, loc):
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


def test_observe_higher_remaining_changes_nothing(h, loc):
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


def test_observe_ignores_missing_and_garbage_headers(h, loc):
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


def test_locations_have_independent_budgets(h, loc):
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


def test_release_of_a_refused_grant_changes_nothing(h, loc):
    # Given a full window and a refused grant
    limiter = h.limiter(1)
    take(limiter, loc, 1)
    refused = limiter.acquire(loc)
    # When the refused grant is released
    limiter.release(refused)
    # Then the window is still full
    assert limiter.snapshot(loc).used_in_window == 1
    assert limiter.acquire(loc).reason == "burst"


def test_a_late_release_of_an_expired_slot_takes_no_budget(h, loc):
    # Given a slot whose lease ran out (its process stalled) and whose window passed
    lease_ms = h.interval_ms // 2
    limiter = h.limiter(1, lease_ms=lease_ms)
    (stalled,) = take(limiter, loc, 1)
    h.sleep_ms(lease_ms + h.interval_ms + 2 * h.slack_ms + 1)
    # When the stalled process finally releases it
    limiter.release(stalled)
    # Then it is not counted again: the whole budget is free
    assert limiter.snapshot(loc).used_in_window == 0
    take(limiter, loc, 1)


def test_a_late_release_does_not_take_a_second_slot_beside_a_new_one(h, loc):
    # Given a stalled slot that expired, and another request that took the freed slot
    lease_ms = h.interval_ms // 2
    limiter = h.limiter(2, lease_ms=lease_ms)
    (stalled, _) = take(limiter, loc, 2)
    h.sleep_ms(lease_ms + h.interval_ms + 2 * h.slack_ms + 1)
    take(limiter, loc, 1)
    # When the stalled one is released late
    limiter.release(stalled)
    # Then only the new request counts
    assert limiter.snapshot(loc).used_in_window == 1


def test_finish_releases_the_slot_and_follows_the_headers(h, loc):
    # Given 2 of 3 slots in flight
    limiter = h.limiter(3)
    answered, still_in_flight = take(limiter, loc, 2)
    # When the first answer arrives and GHL says none is left (it counted a request we did not)
    limiter.finish(answered, {"X-RateLimit-Max": "3", "X-RateLimit-Remaining": "0"})
    # Then the window is full
    assert limiter.snapshot(loc).used_in_window == 3
    assert limiter.acquire(loc).reason == "burst"
    # And once the interval passed, only the request still in flight counts: the answered
    # slot was released (it counted from its answer on), the phantom left with it
    h.sleep_ms(h.interval_ms + 2 * h.slack_ms + 1)
    assert limiter.snapshot(loc).used_in_window == 1
    limiter.finish(still_in_flight, {})
