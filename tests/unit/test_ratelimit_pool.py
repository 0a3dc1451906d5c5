"""PooledLimiter (worker.ratelimit.pool): slots leased in batches per process, its
finishes and returns applied with its next script. The Lua script runs in fakeredis
whose ``TIME`` is a fake clock, the pool's local clock the same clock (exact); the
budget every behaviour test checks is in test_ratelimit_behaviour.py (``*-pooled``)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import fakeredis
import pytest
import redis
from fakeredis.commands_mixins import server_mixin

from worker.ratelimit import Limits, PooledLimiter, RateLimiter, RedisBackend
from worker.ratelimit.base import Synced

INTERVAL_MS = 10_000


class FakeClock:
    def __init__(self, now_ms: int):
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


class Counting:
    """A RedisBackend that counts its scripts and can fail the next ones."""

    def __init__(self, inner: RedisBackend):
        self.inner = inner
        self.scripts = 0
        self.fail_next = 0

    def sync(self, *args, **kwargs) -> Synced:
        if self.fail_next:
            self.fail_next -= 1
            raise redis.ConnectionError("Redis blinked")
        self.scripts += 1
        return self.inner.sync(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    # fakeredis answers TIME (in Lua too) from server_mixin's ``time.time``; the clock
    # starts at the real time so that absolute expiries (PEXPIREAT) stay in the future
    fake = FakeClock(time.time_ns() // 1_000_000)
    monkeypatch.setattr(server_mixin, "time", SimpleNamespace(time=lambda: fake.now / 1000))
    return fake


@pytest.fixture
def backend(clock) -> Counting:
    return Counting(RedisBackend(fakeredis.FakeRedis(), prefix="t"))


def pooled(backend, clock, max_requests=1000, daily_max=100_000, **kwargs) -> PooledLimiter:
    return PooledLimiter(backend, Limits(max_requests, INTERVAL_MS, daily_max),
                         clock_ms=clock, background=False, **kwargs)


def plain(backend, max_requests=1000, daily_max=100_000) -> RateLimiter:
    """Another process's view: the budget in Redis without a pool."""
    return RateLimiter(backend.inner, Limits(max_requests, INTERVAL_MS, daily_max))


def take(limiter, n: int, loc: str = "loc") -> list:
    grants = [limiter.acquire(loc) for _ in range(n)]
    assert all(g.ok for g in grants), grants
    return grants


def test_a_busy_process_leases_in_batches_of_up_to_batch_max(backend, clock):
    # Given a roomy budget and a process whose threads take slots one after another
    limiter = pooled(backend, clock)
    # When 200 requests are granted and answered while the batches are young
    for grant in take(limiter, 200):
        limiter.finish(grant, {})
    # Then the batches grew 1, 2, 4 ... 32: a few scripts, not one or two per request
    assert backend.scripts <= 5 + 200 // 32 + 1
    # And every granted slot counts for the other processes, plus the ones still held
    held = len(limiter._pools["loc"].held)
    assert plain(backend).snapshot("loc").used_in_window == 200 + held
    assert plain(backend).snapshot("loc").daily_used == 200 + held


def test_batch_max_one_leases_one_slot_per_script(backend, clock):
    limiter = pooled(backend, clock, batch_max=1)
    take(limiter, 5)
    assert backend.scripts == 5
    assert plain(backend).snapshot("loc").used_in_window == 5


def test_held_slots_are_free_in_the_own_snapshot_and_taken_for_the_others(backend, clock):
    # Given a process that took 10 slots and holds more
    limiter = pooled(backend, clock)
    take(limiter, 10)
    held = len(limiter._pools["loc"].held)
    assert held > 0
    # When each side reads the budget
    own, other = limiter.snapshot("loc"), plain(backend).snapshot("loc")
    # Then its own requests will use the held ones; for the others they are taken
    assert (own.used_in_window, own.daily_used) == (10, 10)
    assert (other.used_in_window, other.daily_used) == (10 + held, 10 + held)


def test_held_slots_that_aged_unused_go_back_to_the_window_and_the_day(backend, clock):
    # Given a process holding slots it did not hand out
    limiter = pooled(backend, clock)
    take(limiter, 10)
    assert limiter._pools["loc"].held
    # When they are older than the hold time and the process flushes (its flusher)
    clock.now += limiter.hold_ms
    limiter.flush()
    # Then they left the window and the day's count; the ten taken still count
    other = plain(backend).snapshot("loc")
    assert (other.used_in_window, other.daily_used) == (10, 10)
    assert not limiter._pools["loc"].held
    # And an aged slot is never handed out
    grant = limiter.acquire("loc")
    assert grant.ok and plain(backend).snapshot("loc").daily_used >= 11


def test_close_gives_every_held_slot_back(backend, clock):
    limiter = pooled(backend, clock)
    grants = take(limiter, 10)
    limiter.finish(grants[0], {})
    limiter.close()
    other = plain(backend).snapshot("loc")
    assert (other.used_in_window, other.daily_used) == (10, 10)


def test_a_finish_applied_late_counts_from_the_answer_not_from_the_script(backend, clock):
    # Given a budget of 1 and its slot answered at t0, applied half a window later
    limiter = pooled(backend, clock, max_requests=1)
    grant = take(limiter, 1)[0]
    answered = clock.now
    limiter.finish(grant, {})
    clock.now += INTERVAL_MS // 2
    limiter.flush()
    # Then it counts until a window after the answer, and not one ms longer
    clock.now = answered + INTERVAL_MS - 1
    assert limiter.acquire("loc").reason == "burst"
    clock.now = answered + INTERVAL_MS
    assert limiter.acquire("loc").ok


def test_near_a_full_window_no_process_takes_the_last_slots(backend, clock):
    # Given a budget of 8 and a busy process that took 6 of them
    busy = pooled(backend, clock, max_requests=8)
    take(busy, 6)
    # When another process asks
    # Then a slot is left for it: near a full window each call leased one slot
    assert pooled(backend, clock, max_requests=8).acquire("loc").ok


def test_a_lease_is_at_most_a_quarter_of_the_free_slots(backend, clock):
    limiter = pooled(backend, clock, max_requests=100, batch_max=1000)
    take(limiter, 40)
    # 40 taken one after another: the batch grew, but never past a quarter of the room
    other = plain(backend, max_requests=100).snapshot("loc")
    assert other.used_in_window <= 40 + (100 - 40) // 4 + 1


def test_headers_that_contradict_the_held_slots_send_them_back(backend, clock):
    # Given a process configured for 1000 per window, holding slots
    limiter = pooled(backend, clock)
    grants = take(limiter, 10)
    assert limiter._pools["loc"].held
    # When GHL answers that its limit is 5 and none remains
    limiter.finish(grants[0], {"X-RateLimit-Max": "5", "X-RateLimit-Remaining": "0"})
    # Then no held slot is handed out: the next call asks Redis, which knows GHL's limit
    refused = limiter.acquire("loc")
    assert refused.reason == "burst"
    assert plain(backend).snapshot("loc").max_requests == 5


def test_fewer_remaining_than_held_sends_them_back(backend, clock):
    limiter = pooled(backend, clock)
    grants = take(limiter, 10)
    held = len(limiter._pools["loc"].held)
    limiter.finish(grants[0], {"X-RateLimit-Max": "1000", "X-RateLimit-Remaining": "1"})
    assert not limiter._pools["loc"].held
    scripts = backend.scripts
    assert limiter.acquire("loc").ok
    assert backend.scripts == scripts + 1
    assert plain(backend).snapshot("loc").daily_used <= 10 + 1 + held


def test_a_failed_script_keeps_the_pending_work(backend, clock):
    # Given a budget of 1, its slot answered, and Redis failing the next call
    limiter = pooled(backend, clock, max_requests=1)
    grant = take(limiter, 1)[0]
    answered = clock.now
    limiter.finish(grant, {})
    backend.fail_next = 1
    with pytest.raises(redis.ConnectionError):
        limiter.acquire("loc")
    # When Redis is back a window after the answer
    clock.now = answered + INTERVAL_MS
    # Then the finish was kept and applied: the slot is free again
    assert limiter.acquire("loc").ok


def test_a_forked_child_does_not_hand_out_the_parents_slots(backend, clock, monkeypatch):
    limiter = pooled(backend, clock)
    take(limiter, 10)
    assert limiter._pools["loc"].held
    monkeypatch.setattr("worker.ratelimit.pool.os.getpid", lambda: -1)
    scripts = backend.scripts
    assert limiter.acquire("loc").ok
    assert backend.scripts == scripts + 1  # its own lease, not the parent's held slots


def test_the_flusher_thread_applies_an_idle_process_s_finishes():
    # Given a real clock, a pooled limiter with its flusher, and one answered slot
    client = fakeredis.FakeRedis()
    limiter = PooledLimiter(RedisBackend(client, prefix="f"), Limits(1000, 1000, 100_000))
    try:
        grant = limiter.acquire("loc")
        limiter.finish(grant, {})
        window = RedisBackend(client, prefix="f").keys("loc")[0]
        leased_score = client.zscore(window, grant.slot_id)
        # When the process stays idle / Then the flusher applies the finish soon
        deadline = time.monotonic() + 30
        while client.zscore(window, grant.slot_id) == leased_score:
            assert time.monotonic() < deadline, "the flusher never applied the finish"
            time.sleep(0.02)
        assert client.zscore(window, grant.slot_id) < leased_score
    finally:
        limiter.close()
