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


def test_a_case_insensitive_dict_reads_as_a_plain_one_every_time():
    # Given requests' CaseInsensitiveDict (a wire answer's headers) and the same as a dict
    from requests.structures import CaseInsensitiveDict

    answer = {"Content-Type": "application/json", **ALL, " x-ratelimit-remaining ": "5"}
    # When each is read twice (the second read uses the names met by the first)
    seen = [parse_headers(CaseInsensitiveDict(answer)), parse_headers(CaseInsensitiveDict(answer)),
            parse_headers(answer), parse_headers(answer)]
    # Then every read is the same, the padded name read as the one it pads (the later wins)
    assert seen == [RateLimitHeaders(100, 5, 10_000, 200_000, 199_000)] * 4


def test_names_past_the_memo_bound_are_still_read(monkeypatch):
    # Given a memo of names already full (a server inventing header names)
    import clients.http_policy as policy

    monkeypatch.setattr(policy, "_FIELD_OF_NAME", {})
    monkeypatch.setattr(policy, "_NAME_MEMO_MAX", 3)
    parse_headers({f"X-Junk-{i}": "1" for i in range(5)})
    # When an answer brings names never met / Then they are read, the memo stays bounded
    assert parse_headers({"X-RATELIMIT-MAX": "9", "x-ratelimit-remaining": "2"}) == (
        RateLimitHeaders(max_requests=9, remaining=2))
    assert len(policy._FIELD_OF_NAME) == 3
