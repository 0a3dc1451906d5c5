"""Building the limiter from settings."""

from __future__ import annotations

import fakeredis
import pytest

from toky_ghl.settings import Settings
from worker.ratelimit import Limits, RateLimiter, RedisBackend
from worker.ratelimit.shared import shared_limiter


def test_limits_come_from_settings():
    # Given settings read from the environment
    settings = Settings.from_env(
        {
            "GHL_RATE_LIMIT_MAX": "50",
            "GHL_RATE_LIMIT_INTERVAL_MS": "5000",
            "GHL_RATE_LIMIT_DAILY": "1234",
        }
    )
    # When / Then
    assert Limits.from_settings(settings) == Limits(50, 5000, 1234)


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_limits_below_one_are_refused(bad):
    with pytest.raises(ValueError):
        Limits(*bad)


def test_from_settings_uses_the_key_prefix_and_a_lease_above_the_timeouts():
    # Given settings with a prefix and long timeouts, and a fake Redis
    settings = Settings.from_env(
        {"TOKY_GHL_KEY_PREFIX": "pfx", "GHL_READ_TIMEOUT_S": "45", "GHL_CONNECT_TIMEOUT_S": "5"}
    )
    client = fakeredis.FakeRedis()
    # When a limiter is built and used
    limiter = shared_limiter(settings, client)
    limiter.acquire("loc1")
    # Then its keys are under the prefix and the lease covers twice the timeouts
    assert {k.decode() for k in client.keys("*")} == {
        "pfx:ratelimit:loc1:window",
        "pfx:ratelimit:loc1:daily",
    }
    assert limiter.lease_ms == 100_000
    assert limiter.limits == Limits.from_settings(settings)


def test_acquire_refuses_an_empty_location():
    limiter = RateLimiter(RedisBackend(fakeredis.FakeRedis()), Limits(5, 1000, 100))
    with pytest.raises(ValueError):
        limiter.acquire("")
