"""GHL simulator: the per-location rate limit and its headers (reference: Rate limits)."""

from __future__ import annotations

import pytest

from simulators.ghl.ratelimit import LocationRateLimiter
from simulators.ghl.testing import ALL_SCOPES, FakeClock, GhlTestClient, make_api

LOC, OTHER = "locAAAAAAAAAAAAAAAAA", "locBBBBBBBBBBBBBBBBB"
HEADERS = ("X-RateLimit-Max", "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds",
           "X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining")
TOO_MANY = {"statusCode": 429, "message": "Too many requests"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(clock: FakeClock, **config) -> GhlTestClient:
    api = make_api(LOC, clock=clock, **config)
    api.sim.add_token("tok2", LOC, ALL_SCOPES)
    api.sim.add_token("tok-other", OTHER, ALL_SCOPES)
    return api


def read(api: GhlTestClient, token: str = "tok", location: str = LOC):
    return api.get("/contacts/", query={"locationId": location}, token=token)


def test_every_answer_carries_the_five_headers_counting_down(clock):
    api = make(clock)
    answers = [
        read(api),                                                   # 200
        api.get("/contacts/nobody"),                                 # 404
        api.post("/contacts/", {"locationId": LOC, "bad": 1}),       # 422
        api.get("/contacts/", query={"locationId": LOC}, version=None),  # 400
        api.post("/contacts/", {"locationId": LOC}, token="tok-read-missing"),  # 401: not counted
        api.get("/users/", query={"locationId": OTHER}),             # 403
    ]
    assert [a.status_code for a in answers] == [200, 404, 422, 400, 401, 403]
    counted = [a for a in answers if a.status_code != 401]
    for answer in counted:
        assert all(h in answer.headers for h in HEADERS)
        assert answer.headers["X-RateLimit-Max"] == "100"
        assert answer.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
        assert answer.headers["X-RateLimit-Limit-Daily"] == "200000"
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in counted] == [99, 98, 97, 96, 95]
    assert [int(a.headers["X-RateLimit-Daily-Remaining"]) for a in counted] == [
        199999, 199998, 199997, 199996, 199995]


def test_the_request_over_the_burst_is_429_without_retry_after(clock):
    api = make(clock, max_requests=3)
    assert [read(api).status_code for _ in range(3)] == [200, 200, 200]
    refused = read(api)
    assert refused.status_code == 429
    assert refused.json == TOO_MANY
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert api.sim.stats_snapshot()["rate_limited"] == 1


def test_the_window_slides_and_refused_requests_do_not_count(clock):
    api = make(clock, max_requests=3, interval_ms=10_000)
    for step_s in (0, 4, 4):                     # arrivals at t=0, 4 and 8 s
        clock.advance(step_s)
        assert read(api).status_code == 200
    clock.advance(1.999)                         # t=9.999: the t=0 arrival still counts
    assert read(api).status_code == 429
    assert read(api).status_code == 429
    clock.advance(0.002)                         # t=10.001: it has left the window
    answer = read(api)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "0"   # t=4, 8, 10.001; 429s not counted


def test_after_a_full_window_the_whole_budget_is_back(clock):
    api = make(clock, max_requests=3, interval_ms=1_000)
    for _ in range(3):
        read(api)
    for _ in range(5):
        assert read(api).status_code == 429
    clock.advance(1.0)
    answer = read(api)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "2"


def test_the_daily_limit_refuses_until_the_next_utc_day(clock):
    api = make(clock, daily_max=4)
    for expected in ("3", "2", "1", "0"):
        answer = read(api)
        assert answer.headers["X-RateLimit-Daily-Remaining"] == expected
        clock.advance(20)            # out of the burst window each time
    refused = read(api)
    assert refused.status_code == 429 and refused.json == TOO_MANY
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"
    clock.advance(24 * 3600)
    answer = read(api)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Daily-Remaining"] == "3"


def test_limits_are_per_location_and_shared_by_its_tokens(clock):
    api = make(clock, max_requests=2)
    assert read(api, token="tok").status_code == 200
    assert read(api, token="tok2").status_code == 200
    assert read(api, token="tok").status_code == 429
    other = read(api, token="tok-other", location=OTHER)
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "1"


def test_retry_after_is_sent_when_configured(clock):
    api = make(clock, max_requests=1, interval_ms=10_000, send_retry_after=True)
    read(api)
    clock.advance(2.5)
    refused = read(api)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "8"


def test_limits_changed_at_run_time_apply_at_once(clock):
    api = make(clock)
    read(api)
    api.sim.update_config(max_requests=2)
    assert read(api).headers["X-RateLimit-Remaining"] == "0"
    assert read(api).status_code == 429


def test_admin_routes_are_neither_limited_nor_counted(clock):
    api = make(clock, max_requests=1)
    read(api)
    admin = api.flask.get("/_sim/stats")
    assert admin.status_code == 200 and "X-RateLimit-Remaining" not in admin.headers
    assert admin.json["requests_total"] == 1


def test_limiter_counts_per_location_in_a_sliding_window():
    limiter = LocationRateLimiter()
    limits = {"max_requests": 2, "interval_ms": 1000, "daily_max": 10}
    assert limiter.admit("a", 0.0, **limits).remaining == 1
    assert limiter.admit("a", 0.5, **limits).remaining == 0
    refused = limiter.admit("a", 0.9, **limits)
    assert not refused.allowed and refused.retry_after_s == 1
    assert limiter.admit("b", 0.9, **limits).allowed
    assert limiter.admit("a", 1.0, **limits).allowed
    assert limiter.admit("a", 1.0, **limits).daily_remaining == 10 - 3
