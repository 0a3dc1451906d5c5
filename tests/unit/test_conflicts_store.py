"""ConflictStore: one entry per email (any case), phones merged, oldest seen first, cleared."""

from __future__ import annotations

import fakeredis

from worker.conflicts import ConflictStore


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_one_entry_per_email_whatever_its_case_with_every_phone() -> None:
    clock = Clock()
    store = ConflictStore(fakeredis.FakeRedis(), "t", clock=clock)
    store.record("Family@Example.com", contacts={"+1a": "c1", "+1b": "c2"}, email_on=["+1a"],
                 resolution="kept apart")
    clock.now_s = 2000.0
    store.record(" family@example.com", contacts={"+1c": "c3"}, email_on=["+1c"],
                 resolution="kept apart again")
    (entry,) = store.list()
    assert entry.email == "family@example.com"
    assert entry.contacts == {"+1a": "c1", "+1b": "c2", "+1c": "c3"}
    assert entry.email_on == ["+1a", "+1c"] and entry.phones == ["+1a", "+1b", "+1c"]
    assert (entry.first_s, entry.last_s, entry.resolution) == (1000.0, 2000.0,
                                                               "kept apart again")
    assert store.count() == 1


def test_listed_by_the_time_last_seen_and_cleared_one_or_all() -> None:
    clock = Clock()
    store = ConflictStore(fakeredis.FakeRedis(), "t", clock=clock)
    for i, email in enumerate(["b@x.co", "a@x.co", "c@x.co"]):
        clock.now_s = 1000.0 + i
        store.record(email, contacts={f"+1{i}": f"c{i}"}, email_on=[], resolution="r")
    assert [e.email for e in store.list()] == ["b@x.co", "a@x.co", "c@x.co"]
    assert store.clear(["A@x.co"]) == 1 and store.clear(["nobody@x.co"]) == 0
    assert store.clear([]) == 0 and store.get("a@x.co") is None
    assert [e.email for e in store.list()] == ["b@x.co", "c@x.co"] and store.count() == 2
    assert store.clear() == 2 and store.list() == [] and store.count() == 0
    assert store.get("b@x.co") is None and store.get("c@x.co") is None


def test_the_policy_setting_names_its_values_when_wrong() -> None:
    import pytest

    from toky_ghl.errors import ConfigError
    from toky_ghl.settings import Settings

    assert Settings.from_env({}).contact_email_conflict == "separate"
    assert Settings.from_env({"CONTACT_EMAIL_CONFLICT": "Omit-Email"}
                             ).contact_email_conflict == "omit-email"
    with pytest.raises(ConfigError, match="CONTACT_EMAIL_CONFLICT must be one of separate, "
                                          "omit-email, got 'merge'"):
        Settings.from_env({"CONTACT_EMAIL_CONFLICT": "merge"})
