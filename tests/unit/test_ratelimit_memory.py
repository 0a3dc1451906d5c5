"""What only the in-memory backend with a fake clock can show quickly."""

from __future__ import annotations

import threading

from worker.ratelimit import Limits, MemoryBackend, RateLimiter
from worker.ratelimit.base import DAY_MS

ONE_SECOND_TO_MIDNIGHT_MS = 1_714_607_999_000  # 2024-05-01T23:59:59Z


class FakeClock:
    def __init__(self, now_ms: int):
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


def test_daily_budget_starts_again_at_utc_midnight():
    # Given a daily budget spent one second before midnight
    clock = FakeClock(ONE_SECOND_TO_MIDNIGHT_MS)
    limiter = RateLimiter(MemoryBackend(clock), Limits(10, 1000, 1))
    assert limiter.acquire("loc").ok
    refused = limiter.acquire("loc")
    assert (refused.reason, refused.wait_ms) == ("daily", 1000)
    # When the clock passes midnight (UTC)
    clock.now += refused.wait_ms
    assert clock.now % DAY_MS == 0
    # Then the new day's budget is available
    assert limiter.acquire("loc").ok
    assert limiter.snapshot("loc").daily_used == 1


def test_threads_never_get_more_than_max_slots():
    # Given a frozen clock and a budget of 25 per window
    limiter = RateLimiter(MemoryBackend(FakeClock(0)), Limits(25, 1000, 10_000))
    granted = []

    def hammer() -> None:
        for _ in range(200):
            if limiter.acquire("loc").ok:
                granted.append(1)

    # When 8 threads ask 200 times each
    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly 25 were granted
    assert len(granted) == 25
