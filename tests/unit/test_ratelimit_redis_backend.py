"""What only the Redis scripts need shown: key expiries, the UTC day on the server clock."""

from __future__ import annotations

import time
import types

import fakeredis
import pytest
from fakeredis.commands_mixins import server_mixin

from worker.ratelimit import Limits, RateLimiter, RedisBackend
from worker.ratelimit.base import DAY_MS


@pytest.fixture
def server_clock(monkeypatch):
    """Shift fakeredis's ``TIME`` (only) by ``shift.ms``; key expiries keep the real clock."""
    shift = types.SimpleNamespace(ms=0)
    monkeypatch.setattr(
        server_mixin, "time", types.SimpleNamespace(time=lambda: time.time() + shift.ms / 1000)
    )
    return shift


def test_every_key_expires():
    # Given a limiter whose location was used, released and corrected
    client = fakeredis.FakeRedis()
    limiter = RateLimiter(RedisBackend(client, prefix="t"), Limits(5, 10_000, 100), lease_ms=60_000)
    limiter.release(limiter.acquire("loc"))
    limiter.acquire("loc")
    limiter.observe("loc", {"X-RateLimit-Max": "4", "X-RateLimit-Remaining": "0"})
    # When the keys are listed / Then each has an expiry, none longer than it needs
    ttls = {k.decode(): client.pttl(k) for k in client.keys("*")}
    assert set(ttls) == {
        "t:ratelimit:loc:window",
        "t:ratelimit:loc:daily",
        "t:ratelimit:loc:limits",
    }
    assert 0 < ttls["t:ratelimit:loc:window"] <= 60_000 + 10_000 + 1000 + 1  # +1: ms rounding
    assert 0 < ttls["t:ratelimit:loc:daily"] <= 86_400_000 + 3_600_000
    assert 0 < ttls["t:ratelimit:loc:limits"] <= 86_400_000


def test_daily_budget_starts_again_at_utc_midnight_of_the_server_clock(server_clock):
    # Given a server clock 2 s before UTC midnight and a daily budget spent
    now_ms = int(time.time() * 1000)
    server_clock.ms = (now_ms // DAY_MS + 1) * DAY_MS - 2000 - now_ms
    limiter = RateLimiter(RedisBackend(fakeredis.FakeRedis()), Limits(10, 1000, 1))
    assert limiter.acquire("loc").ok
    refused = limiter.acquire("loc")
    assert refused.reason == "daily"
    assert 1500 <= refused.wait_ms <= 2000
    # When the server clock passes midnight
    server_clock.ms += 2500
    # Then the new day has its full budget
    assert limiter.acquire("loc").ok
    assert limiter.snapshot("loc").daily_used == 1
