"""VersionStore and occurred_at_us: exact times, the stored form, the keys and their lifetimes."""

from __future__ import annotations

import fakeredis
import pytest

from contract.constants import EVENT_ID_TTL_S
from worker.versions import VERSION_TTL_S, Version, VersionStore, occurred_at_us


@pytest.mark.parametrize(("text", "expected_us"), [
    ("1970-01-01T00:00:01Z", 1_000_000),
    ("1970-01-01T00:00:00.000001Z", 1),
    ("2026-11-02T10:00:00.000001Z", 1_793_613_600_000_001),
    ("2026-11-02T05:00:00.999999-05:00", 1_793_613_600_999_999),
    ("2026-11-02T10:00:00+00:00", 1_793_613_600_000_000),
])
def test_occurred_at_is_exact_microseconds_since_the_epoch(text, expected_us):
    assert occurred_at_us(text) == expected_us


def test_a_time_without_a_zone_is_refused_naming_it():
    with pytest.raises(ValueError, match="occurred_at has no zone offset: '2026-11-02T10:00:00'"):
        occurred_at_us("2026-11-02T10:00:00")


@pytest.mark.parametrize(("version", "stored"), [
    (Version(1_793_613_600_000_001, False), "1793613600000001:l"),
    (Version(5, True), "5:d"),
])
def test_a_version_is_stored_as_time_and_flag_and_read_back(version, stored):
    assert version.encode() == stored
    assert Version.decode(stored) == version
    assert Version.decode(stored.encode()) == version  # Redis answers bytes


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


def test_versions_are_kept_under_the_prefix_for_a_year(redis_client):
    store = VersionStore(redis_client, "pfx")
    store.record("e1", "applied", {"contact:+1512": Version(7, False),
                                   "contact:+1512#tag:vip": Version(7, True)})
    assert sorted(k.decode() for k in redis_client.keys("*")) == [
        "pfx:handled:e1", "pfx:version:contact:+1512", "pfx:version:contact:+1512#tag:vip"]
    assert redis_client.ttl("pfx:version:contact:+1512") == VERSION_TTL_S
    assert redis_client.ttl("pfx:handled:e1") == EVENT_ID_TTL_S
    assert store.get("contact:+1512") == Version(7, False)
    assert store.get("contact:+1512#tag:vip") == Version(7, True)
    assert store.get("contact:+1999") is None


def test_get_many_answers_every_key_known_or_not(redis_client):
    store = VersionStore(redis_client, "pfx")
    store.record("e1", "applied", {"a": Version(1, False), "c": Version(3, True)})
    assert store.get_many(["a", "b", "c"]) == {"a": Version(1, False), "b": None,
                                               "c": Version(3, True)}
    assert store.get_many([]) == {}


def test_an_event_handled_is_remembered_with_its_outcome_until_forgotten(redis_client):
    store = VersionStore(redis_client, "pfx")
    assert store.handled("e1") is None
    store.record("e1", "skipped: stale")
    assert store.handled("e1") == "skipped: stale"
    assert redis_client.keys("pfx:version:*") == []  # no versions given, none written
    store.forget_event("e1")
    assert store.handled("e1") is None


def test_a_time_read_again_is_the_same_and_a_refusal_is_never_remembered():
    # Given a time read once (kept in memory) / When read again / Then the same microseconds
    assert occurred_at_us("2026-11-02T10:00:00.000001Z") == 1_793_613_600_000_001
    assert occurred_at_us("2026-11-02T10:00:00.000001Z") == 1_793_613_600_000_001
    # and a time without a zone is refused every time
    for _ in range(2):
        with pytest.raises(ValueError, match="no zone offset"):
            occurred_at_us("2026-11-02T10:00:00")
