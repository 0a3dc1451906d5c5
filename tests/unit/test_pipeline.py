"""The pipeline's decisions without Celery: dedupe, latest wins, scopes, retry or dead letter."""

from __future__ import annotations

import fakeredis
import pytest

from clients.ghl.errors import (
    GhlNotFoundError,
    GhlRateLimitedError,
    GhlServerError,
    GhlValidationError,
)
from tests.unit.fake_ghl import FakeGhl
from toky_ghl.settings import Settings
from worker.dlq import DeadLetterStore
from worker.fieldmap import load_field_map
from worker.pipeline import PipelineDeps, process

WRITE = frozenset({"contacts.readonly", "contacts.write", "calendars/events.readonly",
                   "calendars/events.write"})
PHONE = "+15125550101"


@pytest.fixture
def ghl(any_ghl) -> FakeGhl:
    """Every scenario runs against the fake and the simulator behind the real client."""
    return any_ghl


def deps_for(ghl: FakeGhl, **settings) -> PipelineDeps:
    base = {"ghl_token": "tok", "ghl_location_id": "loc", "ghl_scopes": WRITE,
            "ghl_calendar_id": "cal", "ghl_retry_max_attempts": 3}
    return PipelineDeps(settings=Settings(**{**base, **settings}), redis=fakeredis.FakeRedis(),
                        client=ghl, field_map=load_field_map(None), rand=lambda: 0.5)


@pytest.fixture
def deps(ghl) -> PipelineDeps:
    return deps_for(ghl)


def contact(event_id: str, kind: str = "contact.created", at: str = "2026-11-02T09:00:00Z",
            **data) -> dict:
    return {"id": event_id, "type": kind, "occurred_at": at, "data": {"phone": PHONE, **data}}


def test_invalid_event_is_dead_lettered_naming_the_field(deps, ghl):
    decision = process({"id": "x", "type": "contact.created",
                        "occurred_at": "2026-11-02T09:00:00Z", "data": {"phone": "12"}}, deps)
    assert decision.kind == "dead_lettered"
    entry = DeadLetterStore(deps.redis, "tokyghl").get("x")
    assert entry.kind == "invalid" and "data.phone" in entry.reason
    assert ghl.calls == []


def test_an_occurred_at_with_blanks_is_applied_not_looped(deps, ghl):
    # Given an event queued with blanks around occurred_at (as producers let through
    # before: the worker failed on it outside its decisions, forever)
    event = contact("blanks", at="  2026-11-02T09:00:00Z \n", contact_name="Ana")
    # When the worker processes it / Then it is applied like any other
    assert process(event, deps).kind == "applied"
    assert ghl.count("upsert_contact") == 1


def test_same_event_twice_is_applied_once(deps, ghl):
    first = process(contact("e1", contact_name="Ana"), deps)
    second = process(contact("e1", contact_name="Ana"), deps)
    assert (first.kind, second.kind) == ("applied", "skipped")
    assert "duplicate" in second.detail
    assert ghl.count("upsert_contact") == 1


def test_older_update_after_newer_is_skipped_without_calling_ghl(deps, ghl):
    process(contact("new", "contact.updated", "2026-11-02T10:00:00Z", contact_name="New"), deps)
    calls = len(ghl.calls)
    old = process(contact("old", "contact.updated", "2026-11-02T09:00:00Z", contact_name="Old"),
                  deps)
    assert old.kind == "skipped" and "stale" in old.detail
    assert len(ghl.calls) == calls
    assert ghl.contact_by_phone(PHONE)["name"] == "New"


def test_delete_leaves_a_tombstone_an_older_create_cannot_pass(deps, ghl):
    process(contact("c1", at="2026-11-02T09:00:00Z", contact_name="Ana"), deps)
    process(contact("d1", "contact.deleted", "2026-11-02T11:00:00Z"), deps)
    late = process(contact("c0", "contact.updated", "2026-11-02T10:00:00Z", contact_name="Z"),
                   deps)
    assert late.kind == "skipped"
    assert ghl.contact_by_phone(PHONE) is None


def test_a_call_older_than_its_contacts_deletion_is_skipped(deps, ghl):
    process(contact("d1", "contact.deleted", "2026-11-02T11:00:00Z"), deps)
    call = {"id": "call-1", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
            "data": {"callid": "c1", "direction": "inbound", "state": "completed",
                     "from_number": PHONE, "to_number": "+15125559999"}}
    decision = process(call, deps)
    assert decision.kind == "skipped" and "deleted" in decision.detail
    assert ghl.count("create_note") == 0


def test_tags_are_versioned_per_tag(deps, ghl):
    process(contact("c1", contact_name="Ana"), deps)
    process(contact("t0", "contact.tags_added", "2026-11-02T10:00:00Z", tags=["old"]), deps)
    process(contact("t2", "contact.tags_added", "2026-11-02T12:00:00Z", tags=["vip"]), deps)
    assert {"old", "vip"} <= set(ghl.contact_by_phone(PHONE)["tags"])
    # an older removal of "vip" and of "old" arrives late: only "old" is fresh
    process(contact("t1", "contact.tags_removed", "2026-11-02T11:00:00Z", tags=["vip", "old"]),
            deps)
    tags = ghl.contact_by_phone(PHONE)["tags"]
    assert "vip" in tags and "old" not in tags


def test_read_only_scopes_dead_letter_writes_before_any_request(ghl):
    deps = deps_for(ghl, ghl_scopes=frozenset({"contacts.readonly"}))
    decision = process(contact("c1"), deps)
    assert decision.kind == "dead_lettered" and "contacts.write" in decision.detail
    appointment = {"id": "a1", "type": "appointment.created",
                   "occurred_at": "2026-11-02T09:00:00Z",
                   "data": {"appointment_id": "ap", "phone": PHONE,
                            "start": "2026-11-05T18:00:00Z"}}
    deps2 = deps_for(ghl, ghl_scopes=frozenset({"contacts.readonly", "contacts.write"}))
    assert "calendars/events.write" in process(appointment, deps2).detail
    assert ghl.calls == []


def test_ghl_refusal_is_dead_lettered_with_its_message(deps, ghl):
    ghl.fail("upsert_contact", GhlValidationError("email is invalid", status=422,
                                                  method="POST", path="/contacts/upsert"))
    decision = process(contact("c1"), deps)
    assert decision.kind == "dead_lettered"
    entry = DeadLetterStore(deps.redis, "tokyghl").get("c1")
    assert entry.kind == "rejected" and "email is invalid" in entry.reason


def test_server_errors_are_parked_until_the_horizon_then_dead_lettered_with_history(ghl):
    clock = {"ms": 1_000_000}
    deps = deps_for(ghl, ghl_retry_horizon_s=60)
    deps.now_ms = lambda: clock["ms"]
    for _ in range(4):
        ghl.fail("upsert_contact", GhlServerError("boom", status=503, method="POST",
                                                  path="/contacts/upsert"))
    # Given three 503s within the horizon: each one parks with a growing backoff
    d = process(contact("c1"), deps)
    decisions = [d]
    for _ in range(2):
        clock["ms"] += 20_000
        d = process(contact("c1"), deps, failures=d.failures, since_ms=d.since_ms,
                    history=d.history)
        decisions.append(d)
    assert [x.kind for x in decisions] == ["retry"] * 3
    assert [x.reason for x in decisions] == ["backoff"] * 3
    assert decisions[-1].since_ms == 1_000_000 and decisions[-1].failures == 3
    # When a fourth 503 comes after the horizon (60 s since the first failure)
    clock["ms"] += 30_000
    last = process(contact("c1"), deps, failures=d.failures, since_ms=d.since_ms,
                   history=d.history)
    # Then the event is dead-lettered with every failure in its history
    assert last.kind == "dead_lettered"
    entry = DeadLetterStore(deps.redis, "tokyghl").get("c1")
    assert entry.kind == "horizon" and "GHL_RETRY_HORIZON_S=60" in entry.reason
    assert len(entry.history) == 4 and all("503" in h for h in entry.history)


def test_rate_limit_waits_do_not_count_as_failures(deps, ghl):
    ghl.fail("upsert_contact", GhlRateLimitedError("wait", status=429, retry_after_ms=1500,
                                                   method="POST", path="/contacts/upsert"))
    decision = process(contact("c1"), deps, failures=2)
    assert decision.kind == "retry" and decision.failures == 2
    assert decision.retry_in_ms == 1500


def test_a_404_from_a_race_is_retried_not_dead_lettered(deps, ghl):
    process(contact("c1", contact_name="Ana"), deps)
    for _ in range(2):  # the handler itself looks the contact up again once
        ghl.fail("create_note", GhlNotFoundError("Contact not found", status=404,
                                                 method="POST", path="/contacts/x/notes"))
    note = {"id": "n1", "type": "note.created", "occurred_at": "2026-11-02T10:00:00Z",
            "data": {"note_id": "nt", "phone": PHONE, "body": "hello"}}
    first = process(note, deps)
    assert first.kind == "retry" and first.failures == 1
    assert process(note, deps, failures=1).kind == "applied"


def test_an_older_create_still_adds_its_tags_after_a_newer_update(deps, ghl):
    # Given an update applied first (newer, no tags)
    process(contact("u", "contact.updated", "2026-11-02T09:05:00Z", contact_name="New Name"),
            deps)
    # When the older create arrives with its tags
    late = process(contact("c", "contact.created", "2026-11-02T09:00:00Z",
                           contact_name="Old Name", tags=["inbound"]), deps)
    # Then the newer fields stay and the create's tag is added
    assert late.kind == "applied"
    found = ghl.contact_by_phone(PHONE)
    assert found["name"] == "New Name" and "inbound" in found["tags"]


def test_an_older_create_does_not_undo_a_newer_tag_removal(deps, ghl):
    process(contact("c0", contact_name="Ana"), deps)
    process(contact("r", "contact.tags_removed", "2026-11-02T10:00:00Z", tags=["lead"]), deps)
    process(contact("c1", "contact.updated", "2026-11-02T09:30:00Z", contact_name="Ana",
                    tags=["lead", "spanish"]), deps)
    tags = ghl.contact_by_phone(PHONE)["tags"]
    assert "spanish" in tags and "lead" not in tags


# -- latest wins at its boundaries (guarantee 4: the same second still counts) -------------


def test_an_update_in_the_same_second_as_the_previous_still_applies(deps, ghl):
    process(contact("u1", "contact.updated", "2026-11-02T10:00:00Z", contact_name="First"),
            deps)
    same = process(contact("u2", "contact.updated", "2026-11-02T10:00:00Z",
                           contact_name="Second"), deps)
    assert same.kind == "applied"
    assert ghl.contact_by_phone(PHONE)["name"] == "Second"


def test_one_microsecond_older_is_stale_and_one_newer_applies(deps, ghl):
    process(contact("u1", "contact.updated", "2026-11-02T10:00:00.000001Z",
                    contact_name="Base"), deps)
    older = process(contact("u0", "contact.updated", "2026-11-02T10:00:00Z",
                            contact_name="Older"), deps)
    newer = process(contact("u2", "contact.updated", "2026-11-02T10:00:00.000002Z",
                            contact_name="Newer"), deps)
    assert (older.kind, newer.kind) == ("skipped", "applied")
    assert ghl.contact_by_phone(PHONE)["name"] == "Newer"


def test_the_same_instant_in_another_zone_is_the_same_second(deps, ghl):
    process(contact("u1", "contact.updated", "2026-11-02T10:00:00Z", contact_name="UTC"), deps)
    same = process(contact("u2", "contact.updated", "2026-11-02T05:00:00-05:00",
                           contact_name="Austin"), deps)
    older = process(contact("u3", "contact.updated", "2026-11-02T04:59:59-05:00",
                            contact_name="Older"), deps)
    assert (same.kind, older.kind) == ("applied", "skipped")
    assert ghl.contact_by_phone(PHONE)["name"] == "Austin"


def test_a_tag_removed_in_the_same_second_it_was_added_is_removed(deps, ghl):
    process(contact("c1", contact_name="Ana"), deps)
    process(contact("a", "contact.tags_added", "2026-11-02T10:00:00Z", tags=["vip"]), deps)
    removed = process(contact("r", "contact.tags_removed", "2026-11-02T10:00:00Z",
                              tags=["vip"]), deps)
    assert removed.kind == "applied"
    assert "vip" not in ghl.contact_by_phone(PHONE)["tags"]


def test_a_delete_in_the_same_second_as_the_create_deletes(deps, ghl):
    process(contact("c1", at="2026-11-02T10:00:00Z", contact_name="Ana"), deps)
    deleted = process(contact("d1", "contact.deleted", "2026-11-02T10:00:00Z"), deps)
    assert deleted.kind == "applied" and ghl.contact_by_phone(PHONE) is None


def test_a_call_in_the_same_second_as_the_contacts_deletion_still_counts(deps, ghl):
    process(contact("d1", "contact.deleted", "2026-11-02T10:00:00Z"), deps)
    call = {"id": "call-1", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
            "data": {"callid": "c1", "direction": "inbound", "state": "completed",
                     "from_number": PHONE, "to_number": "+15125559999"}}
    assert process(call, deps).kind == "applied"
    assert len(ghl.notes_of(ghl.contact_by_phone(PHONE)["id"])) == 1
