"""Retry decisions and waits: pure functions with pinned randomness and clock."""

from __future__ import annotations

import dataclasses

import pytest

from clients.ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlDuplicateContactError,
    GhlError,
    GhlNotFoundError,
    GhlPermissionError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
    GhlValidationError,
)
from clients.ghl.retry import (
    RetryPolicy,
    is_retryable,
    wait_ms,
)
from clients.http_policy import backoff_ms, retry_after_ms
from toky_ghl.settings import Settings


def rate_limited(retry_after=None, interval=None, from_server=True):
    return GhlRateLimitedError("slow", retry_after_ms=retry_after, interval_ms=interval,
                               from_server=from_server, status=429 if from_server else None)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (rate_limited(), True),
        (GhlServerError("x", status=503), True),
        (GhlConnectionError("x", maybe_sent=True), True),
        (GhlConnectionError("x", maybe_sent=False), True),
        (GhlValidationError("x", status=400), False),
        (GhlValidationError("x", status=422), False),
        (GhlDuplicateContactError("x", status=400), False),
        (GhlAuthError("x", status=401), False),
        (GhlPermissionError("x", status=403), False),
        (GhlNotFoundError("x", status=404), False),
        (GhlScopeError("contacts.write", method="POST", path="/contacts/"), False),
        (GhlError("x", status=409), False),
        (ValueError("not ours"), False),
    ],
)
def test_only_429_5xx_and_connection_errors_are_retryable(error, retryable):
    assert is_retryable(error) is retryable


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "5"}, 5000),
        ({"retry-after": " 0.25 "}, 250),
        ({"Retry-After": "0"}, 0),
        ({"Retry-After": "Thu, 01 Jan 2026 00:00:30 GMT"}, 30_000),
        ({"Retry-After": "Thu, 01 Jan 2026 00:00:00 GMT"}, 0),
        ({"Retry-After": "Wed, 31 Dec 2025 23:00:00 GMT"}, 0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(headers, expected):
    # Given "now" pinned at 2026-01-01T00:00:00Z
    now_s = 1767225600.0
    # When / Then
    assert retry_after_ms(headers, now_s=now_s) == expected


def test_backoff_is_full_jitter_of_an_exponential_ceiling():
    # Given rand pinned at the top of its range
    top = 0.999999
    # When / Then: the ceiling doubles per attempt and stops at the cap
    assert [backoff_ms(a, base_ms=500, cap_ms=60_000, rand=lambda: top) for a in range(9)] == [
        499, 999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]
    # And rand scales it: half the ceiling, or nothing
    assert backoff_ms(3, base_ms=500, cap_ms=60_000, rand=lambda: 0.5) == 2000
    assert backoff_ms(3, base_ms=500, cap_ms=60_000, rand=lambda: 0.0) == 0


def test_backoff_survives_huge_attempt_numbers():
    assert backoff_ms(10_000, base_ms=500, cap_ms=60_000, rand=lambda: 0.5) == 30_000


def test_429_waits_retry_after_first():
    error = rate_limited(retry_after=3000, interval=10_000)
    assert wait_ms(error, 0, base_ms=500, cap_ms=60_000, rand=lambda: 0.0) == 3000


def test_429_without_retry_after_waits_the_window():
    error = rate_limited(interval=10_000)
    assert wait_ms(error, 0, base_ms=500, cap_ms=60_000, rand=lambda: 0.0) == 10_000


def test_429_without_any_hint_backs_off():
    error = rate_limited()
    assert wait_ms(error, 2, base_ms=500, cap_ms=60_000, rand=lambda: 0.5) == 1000


def test_local_limiter_wait_is_honoured():
    error = rate_limited(retry_after=1234, from_server=False)
    assert wait_ms(error, 5, base_ms=500, cap_ms=60_000, rand=lambda: 0.9) == 1234


def test_server_hints_are_capped():
    error = rate_limited(retry_after=3_600_000)
    assert wait_ms(error, 0, base_ms=500, cap_ms=60_000) == 60_000


def test_5xx_and_timeouts_back_off():
    for error in (GhlServerError("x", status=500), GhlConnectionError("x", maybe_sent=True)):
        assert wait_ms(error, 1, base_ms=500, cap_ms=60_000, rand=lambda: 0.5) == 500


def test_policy_counts_attempts_including_the_first():
    # Given a policy of 3 attempts
    policy = RetryPolicy(max_attempts=3, base_ms=100, cap_ms=1000)
    error = GhlServerError("x", status=500)
    # Then failed attempts 0 and 1 are retried, attempt 2 was the last
    assert [policy.should_retry(error, a) for a in range(3)] == [True, True, False]
    assert policy.should_retry(GhlValidationError("x", status=422), 0) is False
    assert policy.wait_ms(error, 1, rand=lambda: 0.5) == 100


def test_policy_is_a_frozen_value_built_from_settings():
    # Given settings / When built
    policy = RetryPolicy.from_settings(
        Settings(ghl_retry_max_attempts=4, ghl_backoff_base_ms=250, ghl_backoff_cap_ms=9000))
    # Then it holds those values and cannot be changed
    assert policy == RetryPolicy(max_attempts=4, base_ms=250, cap_ms=9000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 9


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_ms": 100, "cap_ms": 50}])
def test_policy_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_the_policy_retries_with_backoff_then_retry_after_and_gives_up_after_max_attempts():
    # Given the policy the pipeline takes its retry decisions from
    policy = RetryPolicy(max_attempts=3, base_ms=100, cap_ms=1000)
    # When a call failed with a 502, then a 429 saying Retry-After 700 ms
    # Then each is retried: first after the backoff, then after Retry-After
    assert policy.should_retry(GhlServerError("x", status=502), 0)
    assert policy.wait_ms(GhlServerError("x", status=502), 0, rand=lambda: 0.5) == 50
    assert policy.should_retry(rate_limited(retry_after=700), 1)
    assert policy.wait_ms(rate_limited(retry_after=700), 1, rand=lambda: 0.5) == 700
    # And the third failure (the last attempt) is not retried, whatever it is
    assert not policy.should_retry(GhlConnectionError("x", maybe_sent=False), 2)


def test_the_policy_never_retries_a_refusal_or_an_error_of_our_own():
    policy = RetryPolicy(max_attempts=5)
    assert not policy.should_retry(GhlValidationError("bad", status=422), 0)
    assert not policy.should_retry(KeyError("bug"), 0)
