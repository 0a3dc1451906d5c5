"""Reading GHL's X-RateLimit-* headers."""

from __future__ import annotations

from clients.http_policy import RateLimitHeaders
from clients.http_policy import rate_limit_headers as parse_headers

ALL = {
    "X-RateLimit-Max": "100",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Interval-Milliseconds": "10000",
    "X-RateLimit-Limit-Daily": "200000",
    "X-RateLimit-Daily-Remaining": "199000",
}


def test_reads_all_five_headers():
    # Given an answer with the five headers / When parsed / Then each is a whole number
    assert parse_headers(ALL) == RateLimitHeaders(100, 0, 10_000, 200_000, 199_000)


def test_names_are_matched_in_any_case_and_values_stripped():
    # Given lower- and upper-case names with padded values
    headers = {"x-ratelimit-max": " 50 ", "X-RATELIMIT-REMAINING": "7"}
    # When parsed
    seen = parse_headers(headers)
    # Then both are read, the others are None
    assert seen == RateLimitHeaders(max_requests=50, remaining=7)


def test_missing_or_garbage_values_give_none():
    # Given values that are not whole numbers, negative, or a zero limit/window
    headers = {
        "X-RateLimit-Max": "0",
        "X-RateLimit-Remaining": "-1",
        "X-RateLimit-Interval-Milliseconds": "10s",
        "X-RateLimit-Limit-Daily": "1.5",
        "X-RateLimit-Daily-Remaining": "",
    }
    # When parsed / Then nothing is believed
    assert parse_headers(headers) == RateLimitHeaders()
    assert parse_headers({}) == RateLimitHeaders()
    assert parse_headers(None) == RateLimitHeaders()


def test_zero_remaining_is_a_value_not_garbage():
    # Given GHL saying nothing remains / When parsed / Then 0 is kept (not None)
    seen = parse_headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Daily-Remaining": "0"})
    assert (seen.remaining, seen.daily_remaining) == (0, 0)


def test_other_headers_are_ignored():
    # Given unrelated headers, one numeric / When parsed / Then nothing is read
    assert parse_headers({"Content-Length": "12", "Retry-After": "3"}) == RateLimitHeaders()
