"""Phone normalisation (E.164) and timestamp parsing used by the event schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract import phones
from contract.phones import normalize_phone
from contract.times import parse_occurred_at, parse_timestamp, parse_toky_date


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0134", "US", "+14155550134"),
        ("(512) 555-0101", "US", "+15125550101"),
        ("415.555.0134", "us", "+14155550134"),
        ("+1 415 555 0134", None, "+14155550134"),
        ("+14155550134", "GB", "+14155550134"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+52 55 1234 5678", None, "+525512345678"),
    ],
)
def test_phone_is_normalised_to_e164(raw, region, expected):
    # Given a number as Toky may write it, with its country
    # When it is normalised
    result = normalize_phone(raw, region)
    # Then it is E.164
    assert result == expected


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("(415) 555-01", "US", "not a valid phone number '(415) 555-01' for region US"),
        ("call me", "US", "not a valid phone number 'call me' for region US"),
        ("4155550134", None, "has no country"),
        ("+1415555013", None, "not a valid phone number '+1415555013'"),
        ("", "US", "phone number is empty"),
        ("4155550134", "XX", "unknown country code 'XX'"),
    ],
)
def test_bad_phone_raises_value_error_with_the_reason(raw, region, reason):
    # Given a number that cannot be a phone number in that country
    # When it is normalised
    with pytest.raises(ValueError) as caught:
        normalize_phone(raw, region)
    # Then the error says why, quoting the number
    assert reason in str(caught.value)


def test_phone_parse_cache_stays_bounded_over_more_numbers_than_it_holds():
    # Given the parse cache a worker process keeps for the life of the process
    limit = phones._normalize.cache_info().maxsize
    assert limit is not None, "an unbounded cache grows with every new phone number"
    # When the process sees more distinct numbers than the cache holds
    for i in range(limit + 100):
        normalize_phone(f"+15125{i:06d}")
    # Then the cache holds at most its limit (memory stays flat past it), and still answers
    assert phones._normalize.cache_info().currsize <= limit
    assert normalize_phone("+1 512 500 0000") == "+15125000000"


def test_occurred_at_with_z_or_offset_parses_to_an_aware_time():
    # Given times with Z and with an offset
    # When they are parsed
    z = parse_occurred_at("2026-11-02T10:00:00Z")
    offset = parse_occurred_at("2026-11-02T02:00:00-08:00")
    # Then both are the same instant, with a zone
    assert z == offset == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert z.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", ["2026-11-02T10:00:00", "2026-11-02 10:00:00"])
def test_occurred_at_without_zone_is_refused(raw):
    # Given a naive time
    # When it is parsed as an occurred_at
    with pytest.raises(ValueError) as caught:
        parse_occurred_at(raw)
    # Then the error names the missing zone
    assert "missing zone offset" in str(caught.value)


def test_toky_date_without_zone_is_gmt():
    # Given Toky's own date format (GMT, no zone)
    # When it is parsed
    moment = parse_toky_date("2026-11-02 10:00:00")
    # Then it is that time in UTC
    assert moment == datetime(2026, 11, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-02T10:00:00Z", "", "02/11/2026 10:00"])
def test_unparseable_timestamp_is_refused(raw):
    # Given text that is not a timestamp
    # When it is parsed
    with pytest.raises(ValueError) as caught:
        parse_timestamp(raw)
    # Then the error says so
    assert "timestamp" in str(caught.value)
