"""The poller against the Toky simulator (in-process) and fakeredis: what it queues, poll
after poll, restart after restart."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import pytest
import structlog

from producers.poller import Poller
from producers.queue import EventPublisher
from simulators.toky import TokySim, create_app, seed_demo
from tests.unit.poller_support import (
    KEY,
    PREFIX,
    T0,
    TOKY_LINE,
    RecordingPublisher,
    queued_events,
    queued_ids,
    sim_client,
)
from toky_ghl.keys import queue_key

SINCE = T0 - timedelta(days=7)


@pytest.fixture
def sim():
    sim = TokySim(api_key=KEY, clock=lambda: T0)
    seed_demo(sim, now=T0)
    return sim


@pytest.fixture
def app(sim):
    app = create_app(sim)
    app.testing = True
    return app


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


@pytest.fixture
def make_poller(app, redis_client):
    def make(publisher=None, **kwargs) -> Poller:
        kwargs.setdefault("backfill_since", SINCE)
        kwargs.setdefault("clock", lambda: T0)
        return Poller(sim_client(app), redis_client,
                      publisher or EventPublisher(redis_client, key_prefix=PREFIX),
                      key_prefix=PREFIX, **kwargs)
    return make


def expected_ids(sim: TokySim) -> set[str]:
    state = sim.snapshot()
    return ({f"call-{c['callid']}" for c in state["cdrs"]}
            | {f"voicemail-{v['id']}" for v in state["voicemails"]}
            | {f"sms-{s['id']}" for s in state["sms"]})


def test_first_poll_queues_every_contact_call_voicemail_and_sms(sim, make_poller, redis_client):
    # Given the demo account (3 contacts, 5 calls, 1 voicemail, 2 SMS) and an empty Redis
    # When the poller polls once
    report = make_poller().poll_once()
    # Then one event per object is queued, each validated, with the contract's ids
    events = queued_events(redis_client)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == 11
    assert expected_ids(sim) <= set(ids)
    contact_ids = sorted(i for i in ids if i.startswith("contact-"))
    assert [i.split("-")[1] for i in contact_ids] == ["+15125550101", "+15125550102",
                                                      "+442079460000"]
    assert all(i.split("-")[2].startswith("1.") for i in contact_ids)
    types = sorted(e["type"] for e in events)
    assert types.count("contact.created") == 3 and types.count("call.ended") == 5
    assert {"voicemail.created", "sms.received", "sms.sent"} <= set(types)
    assert report.counts.queued == 11 and not report.failures


def test_call_states_and_the_recording_url_come_through(sim, make_poller, redis_client):
    # Given the demo's calls: two answered inbound (one recorded), one missed, one busy
    # outbound, one answered outbound
    make_poller().poll_once()
    # When the queued call events are read
    calls = [e["data"] for e in queued_events(redis_client) if e["type"] == "call.ended"]
    # Then each state follows the rule and only the recorded call has a URL
    states = sorted((c["direction"], c["state"]) for c in calls)
    assert states == [("inbound", "completed"), ("inbound", "completed"), ("inbound", "missed"),
                      ("outbound", "completed"), ("outbound", "unsuccessful")]
    urls = [c.get("record_url") for c in calls if c.get("record_url")]
    assert urls == ["https://recordings.toky.example/demo/call-1.mp3"]


def test_a_restarted_poller_produces_nothing_from_its_cursor_alone(make_poller):
    # Given a first poll (through a publisher that does not deduplicate)
    first = RecordingPublisher()
    make_poller(first).poll_once()
    # When a new poller object on the same Redis polls
    second = RecordingPublisher()
    make_poller(second).poll_once()
    # Then it produces no event at all: not even one the queue would have dropped
    assert len(first.ids) == 11
    assert second.ids == []


def test_a_second_poll_queues_only_the_new_call_and_the_changed_contact(sim, make_poller,
                                                                        redis_client):
    # Given a first poll
    make_poller().poll_once()
    before = set(queued_ids(redis_client))
    # When a call arrives and a contact changes its city, and the poller polls again
    call = sim.add_call(from_number="+15125550102", to_number=TOKY_LINE,
                        init_dt=T0 - timedelta(minutes=5))
    sim.update_contact("+15125550102", city="Houston")
    report = make_poller().poll_once()
    # Then exactly those two are queued
    new = [e for e in queued_events(redis_client) if e["id"] not in before]
    assert sorted(e["type"] for e in new) == ["call.ended", "contact.updated"]
    assert {e["id"] for e in new if e["type"] == "call.ended"} == {f"call-{call['callid']}"}
    updated = next(e for e in new if e["type"] == "contact.updated")
    assert updated["id"].startswith("contact-+15125550102-2.")
    assert updated["data"]["city"] == "Houston"
    assert report.counts.queued == 2


def test_a_poll_with_nothing_new_queues_nothing(make_poller, redis_client):
    # Given a first poll
    make_poller().poll_once()
    length = redis_client.llen(queue_key(PREFIX))
    # When the same poller polls again
    report = make_poller().poll_once()
    # Then nothing is queued and nothing is counted as a repeat either
    assert redis_client.llen(queue_key(PREFIX)) == length
    assert (report.counts.queued, report.counts.repeats, report.counts.invalid) == (0, 0, 0)


def test_pagination_reads_every_page_and_reports_backfill_progress(sim, make_poller,
                                                                   redis_client):
    # Given 7 more calls (12 in all) and pages of 2 rows
    for minute in range(7):
        sim.add_call(from_number="+15125550101", to_number=TOKY_LINE,
                     init_dt=T0 - timedelta(minutes=minute), disposition_code=487)
    lines: list[str] = []
    # When a first poll runs
    make_poller(page_size=2, progress=lines.append).poll_once()
    # Then every call is queued and progress names pages, records and events
    assert sum(i.startswith("call-") for i in queued_ids(redis_client)) == 12
    call_lines = [line for line in lines if line.startswith("backfill calls:")]
    assert len(call_lines) == 6
    assert call_lines[-1] == "backfill calls: 6 pages, 12 records, 12 queued, 0 repeats, 0 invalid"


@pytest.mark.parametrize("overlap_s", [0, 3600])
def test_records_in_the_same_second_are_neither_missed_nor_repeated(sim, make_poller,
                                                                   overlap_s):
    # Given three calls in the same second as the newest, polled
    moment = T0 - timedelta(minutes=1)
    for _ in range(3):
        sim.add_call(from_number="+15125550101", to_number=TOKY_LINE, init_dt=moment,
                     disposition_code=487)
    first = RecordingPublisher()
    make_poller(first, overlap_s=overlap_s).poll_once()
    # When a fourth call in that same second appears and a new poller polls
    late = sim.add_call(from_number="+15125550101", to_number=TOKY_LINE, init_dt=moment,
                        disposition_code=487)
    second = RecordingPublisher()
    make_poller(second, overlap_s=overlap_s).poll_once()
    # Then only the fourth is produced
    assert second.ids == [f"call-{late['callid']}"]


def test_a_late_call_dated_inside_the_overlap_is_still_found(sim, make_poller):
    # Given a first poll (newest call a few minutes before T0)
    make_poller(overlap_s=3600).poll_once()
    # When a call listed late, dated 30 minutes before the newest one, appears
    late = sim.add_call(from_number="+15125550101", to_number=TOKY_LINE,
                        init_dt=T0 - timedelta(hours=3, minutes=30), disposition_code=487)
    publisher = RecordingPublisher()
    make_poller(publisher, overlap_s=3600).poll_once()
    # Then it is produced
    assert publisher.ids == [f"call-{late['callid']}"]


def test_an_interrupted_read_resumes_without_missing_or_repeating(sim, make_poller):
    # Given 6 calls in 3 pages of 2, and Toky failing the second page of /cdrs
    sim.reset()
    for minute in range(6):
        sim.add_call(from_number="+15125550101", to_number=TOKY_LINE,
                     init_dt=T0 - timedelta(minutes=minute), disposition_code=487)
    publisher = RecordingPublisher()
    poller = make_poller(publisher, page_size=2, resources=("calls",))
    original = poller.client.request
    pages = {"n": 0}

    def flaky(method, path, **kwargs):
        if "cdrs" in path:
            pages["n"] += 1
            if pages["n"] == 2:
                sim.fail_next("/cdrs", 503)
        return original(method, path, **kwargs)

    poller.client.request = flaky
    # When the first poll fails on page 2 and a new poller polls again
    report = poller.poll_once()
    resumed = RecordingPublisher()
    make_poller(resumed, page_size=2, resources=("calls",)).poll_once()
    # Then the first produced page 1 only, the second the other 4, none twice
    assert "calls" in report.failures
    assert len(publisher.ids) == 2
    assert len(resumed.ids) == 4
    assert len(set(publisher.ids + resumed.ids)) == 6


def test_calls_before_the_backfill_start_are_not_read(sim, make_poller, redis_client):
    # Given a call 10 days old
    old = sim.add_call(from_number="+15125550101", to_number=TOKY_LINE,
                       init_dt=T0 - timedelta(days=10))
    # When a first poll backfills 7 days
    make_poller().poll_once()
    # Then the old call is not queued
    assert f"call-{old['callid']}" not in queued_ids(redis_client)


def test_an_event_the_schema_refuses_is_logged_counted_and_not_repeated(sim, make_poller,
                                                                        redis_client):
    # Given a call from an unreadable number among good ones
    bad = sim.add_call(from_number="+1 (512) 55", to_number=TOKY_LINE,
                       init_dt=T0 - timedelta(minutes=2), disposition_code=487)
    # When the poller polls twice
    with structlog.testing.capture_logs() as logs:
        first = make_poller().poll_once()
        second = make_poller().poll_once()
    # Then the bad call is counted and logged once with the field, the others queued
    invalid = [e for e in logs if e["event"] == "poller.invalid_event"]
    assert len(invalid) == 1
    assert invalid[0]["event_id"] == f"call-{bad['callid']}"
    assert "data.from_number" in invalid[0]["reason"]
    assert (first.counts.invalid, first.counts.queued) == (1, 11)
    assert second.counts.invalid == 0
    assert f"call-{bad['callid']}" not in queued_ids(redis_client)


def test_one_failing_resource_does_not_stop_the_others(sim, make_poller, redis_client):
    # Given Toky answering 404 on the SMS list
    sim.fail_next("/sms", 404)
    # When the poller polls, then polls again once Toky serves it
    report = make_poller().poll_once()
    after_failure = set(queued_ids(redis_client))
    make_poller().poll_once()
    # Then the first poll queued everything but SMS, and the second the SMS
    assert list(report.failures) == ["sms"]
    assert not any(i.startswith("sms-") for i in after_failure)
    assert sum(i.startswith("sms-") for i in queued_ids(redis_client)) == 2


def test_the_mark_moves_to_the_newest_row_read(sim, make_poller):
    # Given the demo's calls, the newest begun 3 hours before T0
    poller = make_poller(overlap_s=0)
    # When a poll completes
    poller.poll_once()
    # Then the calls cursor's mark is that newest call's init_dt; SMS and voicemails too
    assert poller.cursors["calls"].mark() == T0 - timedelta(hours=3)
    assert poller.cursors["sms"].mark() == T0 - timedelta(hours=48)
    assert poller.cursors["voicemails"].mark() == T0 - timedelta(hours=26)
