"""The mirror poller against the GHL simulator (in process, through the real GHL client and
a shared limiter) and fakeredis: its cursor, pages, echoes, failures and rate waits."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from producers.mirror import TO_GHL, MirrorPoller, SourceBusy, SourceFailed, SyncMemory
from producers.mirror.shared import fingerprint, from_ghl
from producers.polling.lock import PollerLock
from producers.polling.runner import run_poller
from tests.unit.mirror_support import GHL_T0, PREFIX, SINCE, World
from tests.unit.poller_support import RecordingPublisher
from worker.ratelimit import Limits


def poller_for(world: World, publisher=None, **kwargs) -> tuple[MirrorPoller, RecordingPublisher]:
    publisher = publisher or RecordingPublisher()
    kwargs.setdefault("backfill_since", SINCE)
    kwargs.setdefault("overlap_s", 60)
    return MirrorPoller(kwargs.pop("source", world.source), world.redis, publisher,
                        key_prefix=PREFIX, **kwargs), publisher


def add_people(world: World, n: int) -> list[dict]:
    return [world.add_ghl_contact(name=f"Person {i}", phone=f"+1512555030{i}") for i in range(n)]


def test_a_first_poll_reads_every_contact_page_by_page_with_progress():
    # Given five GHL contacts and pages of two
    world = World(page_size=2)
    people = add_people(world, 5)
    lines: list[str] = []
    poller, publisher = poller_for(world, progress=lines.append)
    # When the mirror polls for the first time
    report = poller.poll_once()
    # Then every contact is queued once, oldest change first, in three searches
    assert [e["data"]["id"] for e in publisher.events] == [p["id"] for p in people]
    assert {e["type"] for e in publisher.events} == {"ghl.contact.created"}
    assert world.ghl_searches() == 3
    assert report.text() == ("ghl contacts: 3 pages, 5 records, 5 queued, 0 repeats, "
                             "0 invalid, 0 echoes skipped")
    # And each page of the backfill printed its progress
    assert lines == [f"backfill ghl contacts: {p} pages, {r} records, {r} queued, 0 repeats, "
                     f"0 invalid, 0 echoes skipped" for p, r in ((1, 2), (2, 4), (3, 5))]
    # And the mark is the newest change read
    assert poller.cursor.mark() == GHL_T0 + timedelta(seconds=4)


def test_the_next_poll_queues_only_what_changed_and_survives_a_restart():
    # Given a first poll of three contacts
    world = World(page_size=2)
    people = add_people(world, 3)
    poller_for(world)[0].poll_once()
    # When nothing changed and a new poller (a restart) polls
    poller, publisher = poller_for(world)
    quiet = poller.poll_once()
    # Then nothing is queued (the overlap re-reads, the seen versions are skipped)
    assert publisher.events == [] and quiet.counts.queued == 0
    # When one contact is edited in GHL
    edited = world.edit_ghl_contact(people[1]["id"], city="Dallas")
    poller.poll_once()
    # Then exactly that change is queued, as an update with its new version
    (event,) = publisher.events
    assert event["type"] == "ghl.contact.updated"
    assert event["id"] == f"ghl-contact-{edited['id']}-{int(GHL_T0.timestamp() + 3) * 1000}"
    assert event["data"]["city"] == "Dallas"
    assert event["occurred_at"] == edited["dateUpdated"]


def test_contacts_unchanged_since_before_the_backfill_start_are_not_read():
    # Given two old contacts and one changed after the backfill start
    world = World()
    add_people(world, 2)
    newer = world.add_ghl_contact(name="Newer", phone="+15125550399")
    poller, publisher = poller_for(world, backfill_since=GHL_T0 + timedelta(seconds=2))
    # When the mirror polls
    poller.poll_once()
    # Then only the newer one is queued
    assert [e["data"]["id"] for e in publisher.events] == [newer["id"]]


def test_contacts_toky_ghl_wrote_to_ghl_are_echoes_and_not_queued():
    # Given a contact toky-ghl wrote to GHL from Toky (so remembered), and one a user added
    world = World()
    ours = world.add_ghl_contact(name="Ana", phone="+15125550101", email="ana@example.com")
    SyncMemory(world.redis, PREFIX).record("+15125550101", TO_GHL, fingerprint(from_ghl(ours)))
    theirs = world.add_ghl_contact(name="Gina", phone="+15125550188")
    poller, publisher = poller_for(world)
    # When the mirror polls twice
    first = poller.poll_once()
    second = poller.poll_once()
    # Then only the user's contact is queued; the echo is counted once, never queued
    assert [e["data"]["id"] for e in publisher.events] == [theirs["id"]]
    assert (first.echoes, second.echoes) == (1, 0)
    # When a GHL user then edits the echoed contact
    world.edit_ghl_contact(ours["id"], city="Austin")
    poller.poll_once()
    # Then the edit is a change to mirror
    assert publisher.events[-1]["data"]["id"] == ours["id"]


class FlakySource:
    """The real source, failing or busy on the listed calls (1-based)."""

    def __init__(self, inner, *, fail_on=(), busy_on=()) -> None:
        self.inner, self.page_size = inner, inner.page_size
        self.fail_on, self.busy_on, self.calls = set(fail_on), set(busy_on), 0

    def page(self, after):
        self.calls += 1
        if self.calls in self.fail_on:
            raise SourceFailed("GHL contact search failed: HTTP 503")
        if self.calls in self.busy_on:
            raise SourceBusy("the shared rate limiter asks to wait", wait_ms=250)
        return self.inner.page(after)


def test_a_failed_page_keeps_the_cursor_and_the_next_poll_goes_on_without_repeats():
    # Given five contacts, pages of two, and GHL failing the second page once
    world = World(page_size=2)
    add_people(world, 5)
    poller, publisher = poller_for(world, source=FlakySource(world.source, fail_on={2}))
    # When the mirror polls
    failed = poller.poll_once()
    # Then the first page was queued, the failure reported, the mark not moved
    assert failed.failures == {"ghl contacts": "GHL contact search failed: HTTP 503"}
    assert failed.counts.queued == 2 and poller.cursor.mark() is None
    # When it polls again
    poller.poll_once()
    # Then the rest is queued, nothing twice
    ids = [e["id"] for e in publisher.events]
    assert len(ids) == len(set(ids)) == 5
    assert poller.cursor.mark() == GHL_T0 + timedelta(seconds=4)


def test_a_busy_budget_is_waited_for():
    # Given a source whose first request meets a busy budget
    world = World()
    add_people(world, 2)
    waits: list[float] = []
    poller, publisher = poller_for(world, source=FlakySource(world.source, busy_on={1}),
                                   wait=waits.append)
    # When the mirror polls
    report = poller.poll_once()
    # Then it waited what the budget asked, then read
    assert waits == [0.25]
    assert not report.failures and len(publisher.events) == 2


def test_a_budget_that_stays_busy_fails_the_poll():
    world = World()
    poller, _ = poller_for(world, source=FlakySource(world.source, busy_on=set(range(1, 99))),
                           wait=lambda _s: None, max_busy_waits=3)
    report = poller.poll_once()
    assert "stayed busy" in report.failures["ghl contacts"]


def test_the_searches_draw_from_the_shared_budget_of_the_location():
    # Given a location budget of 2 requests per 10 s, shared with the workers, and
    # three contacts read one per page
    world = World(page_size=1, limits=Limits(2, 10_000, 1000))
    add_people(world, 3)
    waited: list[float] = []

    def wait(seconds: float) -> None:  # time passes for the limiter and the simulator
        waited.append(seconds)
        world.clock.advance(seconds)

    poller, publisher = poller_for(world, wait=wait)
    # When the mirror polls (4 searches: the last page is empty)
    report = poller.poll_once()
    # Then it waited for the budget instead of exceeding it, and read everything
    assert not report.failures and len(publisher.events) == 3
    assert waited and sum(waited) >= 9.0
    assert world.ghl_sim.stats_snapshot()["rate_limited"] == 0
    assert world.limiter.snapshot("loc-mirror").daily_remaining == 1000 - 4


def test_run_poller_runs_the_mirror_once_under_its_own_lock():
    # Given one contact, and the mirror's lock
    world = World()
    add_people(world, 1)
    poller, publisher = poller_for(world)
    lock = PollerLock(world.redis, f"{PREFIX}:mirror:lock", ttl_s=30)
    said: list[str] = []
    # When run once
    status = run_poller(poller, lock, once=True, interval_s=30, lock_wait_s=0,
                        stop=threading.Event(), say=said.append, name="mirror")
    # Then it polled, printed a mirror line and released the lock
    assert status == 0 and len(publisher.events) == 1
    assert said == ["mirror: ghl contacts: 1 pages, 1 records, 1 queued, 0 repeats, 0 invalid, "
                    "0 echoes skipped"]
    assert world.redis.get(f"{PREFIX}:mirror:lock") is None
    # When another process holds the lock
    PollerLock(world.redis, f"{PREFIX}:mirror:lock", ttl_s=30).acquire()
    said.clear()
    status = run_poller(poller, lock, once=True, interval_s=30, lock_wait_s=0,
                        stop=threading.Event(), say=said.append, name="mirror")
    # Then it says so and polls nothing
    assert status == 0
    assert said[-1] == "mirror --once: the lock is still held; nothing polled"


@pytest.mark.parametrize("page_size", [0, 501])
def test_the_source_refuses_a_page_size_ghl_would_not_serve(page_size):
    from producers.mirror.ghl_source import GhlContactChanges

    with pytest.raises(ValueError):
        GhlContactChanges(object(), page_size=page_size)
