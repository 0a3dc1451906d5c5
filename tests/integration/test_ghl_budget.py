"""The GHL client and the shared limiter against the simulator over HTTP: the budget
shared by four processes, a 429 without Retry-After, a missing scope."""

from __future__ import annotations

import time

import pytest
import redis

from bench.ratelimit import run_mode
from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlRateLimitedError, GhlScopeError
from clients.ghl.retry import RetryPolicy
from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.demo import DEMO_LOCATION, DEMO_TOKEN, seed_demo
from simulators.ghl.sim import GhlSim
from simulators.serve import serve_in_thread
from worker.ratelimit import Limits, PooledLimiter, RateLimiter, RedisBackend

pytestmark = pytest.mark.integration


def test_four_processes_share_one_budget_fully_with_zero_429s(redis_url, real_redis):
    # Given a GHL allowing 20 requests per second, and four processes sharing our limiter
    # When they send as fast as the limiter allows for 20 seconds
    result = run_mode("shared", processes=4, budget=20, interval_ms=1000, seconds=20,
                      redis_url=redis_url)
    # Then GHL never answered 429, and at least 90% of the budget was used
    assert result.too_many == 0
    assert result.share >= 0.90, f"only {result.share:.2%} of the budget used"


@pytest.fixture
def served_sim():
    sim = GhlSim(SimConfig(max_requests=5, interval_ms=1000))
    seed_demo(sim)
    with serve_in_thread(create_app(sim)) as server:
        yield sim, server.url


def test_a_429_without_retry_after_is_waited_out_for_the_window(served_sim, real_redis):
    sim, url = served_sim
    contact = sim.add_contact(DEMO_LOCATION, {"phone": "+15125550101"})
    # Given a client with no limiter, and GHL's window already spent by someone else
    client = GhlClient(base_url=url, token=DEMO_TOKEN, location_id=DEMO_LOCATION,
                       scopes={"contacts.readonly"})
    for _ in range(5):
        client.get_contact(contact["id"])
    # When GHL answers 429 without Retry-After
    with pytest.raises(GhlRateLimitedError) as info:
        client.get_contact(contact["id"])
    wait_ms = RetryPolicy(max_attempts=5, base_ms=100, cap_ms=10_000).wait_ms(info.value, 0)
    # Then the wait is the window GHL announced in X-RateLimit-Interval-Milliseconds
    assert info.value.from_server and info.value.retry_after_ms is None
    assert wait_ms == 1000
    # and after waiting it out the request goes through
    time.sleep(wait_ms / 1000)
    assert client.get_contact(contact["id"])["id"] == contact["id"]


@pytest.mark.parametrize("factory", [RateLimiter, PooledLimiter])
def test_the_limiter_learns_from_ghl_headers_and_prevents_the_429(served_sim, redis_url,
                                                                     real_redis, factory):
    sim, url = served_sim
    contact = sim.add_contact(DEMO_LOCATION, {"phone": "+15125550101"})
    # Given our limiter configured for 100 per second, while GHL allows 5
    limiter = factory(RedisBackend(redis.Redis.from_url(redis_url)), Limits(100, 1000, 1000))
    client = GhlClient(base_url=url, token=DEMO_TOKEN, location_id=DEMO_LOCATION,
                       scopes={"contacts.readonly"}, limiter=limiter, max_inline_wait_ms=0)
    # When ten requests are attempted at once
    sent, held_back = 0, 0
    for _ in range(10):
        try:
            client.get_contact(contact["id"])
            sent += 1
        except GhlRateLimitedError as exc:
            assert not exc.from_server, "GHL answered 429: the headers were not followed"
            held_back += 1
    # Then GHL's headers lowered our maximum: five went, five were held back locally
    assert (sent, held_back) == (5, 5)
    assert sim.stats_snapshot()["rate_limited"] == 0


def test_a_write_without_its_scope_sends_nothing(served_sim):
    sim, url = served_sim
    client = GhlClient(base_url=url, token=DEMO_TOKEN, location_id=DEMO_LOCATION,
                       scopes={"contacts.readonly"})
    with pytest.raises(GhlScopeError) as info:
        client.upsert_contact({"phone": "+15125550101"})
    assert info.value.scope == "contacts.write"
    assert sim.stats_snapshot()["requests_total"] == 0
