"""DeadLetterStore: counts, order, time index, removal and purge (what `dlq` and `status` read)."""

from __future__ import annotations

import re

import fakeredis
import pytest

from worker.dlq import DeadLetterStore


class Clock:
    def __init__(self) -> None:
        self.now_s = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock) -> DeadLetterStore:
    return DeadLetterStore(fakeredis.FakeRedis(), "t", clock=clock)


def ev(event_id: str) -> dict:
    return {"id": event_id, "type": "contact.created", "data": {"phone": "+15125550101"}}


def test_a_second_dead_lettering_counts_two_and_keeps_one_entry(store, clock):
    store.add(ev("e1"), "first reason", "rejected", task_id="t1")
    clock.now_s += 60
    again = store.add(ev("e1"), "second reason", "retries_exhausted", task_id="t2")
    assert again.count == 2
    stored = store.get("e1")
    assert (stored.count, stored.reason, stored.kind, stored.task_id, stored.at_s) == (
        2, "second reason", "retries_exhausted", "t2", clock.now_s)
    assert store.count() == 1 and [e.id for e in store.list()] == ["e1"]
    assert store.add(ev("e1"), "third", "rejected").count == 3


def test_entries_are_listed_oldest_first_whatever_their_ids(store, clock):
    for event_id in ("z-late-name", "a-early-name", "m-middle"):
        clock.now_s += 10
        store.add(ev(event_id), "r", "rejected")
    assert [e.id for e in store.list()] == ["z-late-name", "a-early-name", "m-middle"]
    assert [e.id for e in store.list(limit=2)] == ["z-late-name", "a-early-name"]
    # a dead-lettering again moves the entry to the time it last failed
    clock.now_s += 10
    store.add(ev("z-late-name"), "again", "rejected")
    assert [e.id for e in store.list()] == ["a-early-name", "m-middle", "z-late-name"]


def test_remove_clears_the_entry_and_its_time_index(store, clock):
    store.add(ev("e1"), "r", "rejected")
    store.add(ev("e2"), "r", "rejected")
    assert store.remove(["e1", "missing"]) == 1
    # the count (what `status` reports) and the listing agree: e1 is gone from both
    assert store.count() == 1 and [e.id for e in store.list()] == ["e2"]
    assert store.get("e1") is None
    assert store.remove([]) == 0 and store.count() == 1
    # a replayed event that fails again starts counting from one
    assert store.add(ev("e1"), "r", "rejected").count == 1


def test_purge_empties_both_and_says_how_many(store):
    for i in range(3):
        store.add(ev(f"e{i}"), "r", "rejected")
    assert store.purge() == 3
    assert (store.count(), store.list(), store.get("e0")) == (0, [], None)


def test_an_event_without_an_id_gets_one_of_its_own(store):
    first = store.add({"type": "x"}, "invalid event: id missing", "invalid")
    second = store.add("not even a dict", "invalid event", "invalid")
    assert re.fullmatch(r"noid-[0-9a-f]{12}", first.id) and second.id.startswith("noid-")
    assert first.id != second.id and store.count() == 2
    assert store.get(first.id).event_type == "x" and store.get(second.id).event_type == "?"
