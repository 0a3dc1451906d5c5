"""call.ended: one note per callid, the contact made first, the missed-call follow-up."""

from __future__ import annotations

import pytest

from tests.unit.sync_support import apply, apply_counting, event, make_context, samples
from worker.idmap import IdMap

KNOWN = "+14155550134"
UNKNOWN = "+14155550177"
CALLID = "8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11"
MISSED = "0f9a2c33-1b2d-4c5e-8f70-a1b2c3d4e5f6"
AGENTS = {"agents": {"sam@company.test": "u-sam"}}


def test_contact_then_call_costs_one_call_each() -> None:
    # Given the contact applied first
    ctx = make_context()
    _, contact_calls = apply_counting(samples()["s-001"], ctx)
    # When its completed call arrives
    outcome, call_calls = apply_counting(samples()["s-004"], ctx)
    # Then one note create and nothing else (no GET, no upsert): 1.0 call per event
    assert contact_calls == ["search_duplicate", "upsert_contact"]  # the email's owner first
    assert call_calls == ["create_note"]
    contact = ctx.client.contact_by_phone(KNOWN)
    (note,) = ctx.client.notes_of(contact["id"])
    assert outcome.ghl_ids == {"contact": contact["id"], "note": note["id"]}
    assert f"Call ID: {CALLID}" in note["body"]
    assert note["body"].splitlines()[-1] == f"[toky:call:{CALLID}]"
    assert ctx.client.tasks == {}  # a completed call has no follow-up


def test_call_note_names_direction_state_duration_agent_recording() -> None:
    ctx = make_context()
    apply(samples()["s-004"], ctx)
    (note,) = ctx.client.notes.values()
    for part in ("Inbound call, completed", "3m 4s", "Sam <sam@company.test>",
                 "https://app.toky.co/recordings/8c1e5d02", CALLID):
        assert part in note["body"]


def test_missed_call_from_unknown_number_makes_contact_note_and_followup() -> None:
    # Given a GHL that does not know the caller, an agent map and 60 minutes to call back
    ctx = make_context(field_map=AGENTS, followup_due_minutes=60)
    # When the missed call s-005 is applied
    outcome, calls = apply_counting(samples()["s-005"], ctx)
    # Then the contact is made first (with the call's contact_name), then the note and task
    assert calls == ["upsert_contact", "create_note", "create_task"]
    contact = ctx.client.contact_by_phone(UNKNOWN)
    assert contact["name"] == "Unknown Caller" and contact["source"] == "Toky"
    (note,) = ctx.client.notes_of(contact["id"])
    assert "Inbound call, missed" in note["body"]
    (task,) = ctx.client.tasks_of(contact["id"])
    assert task["title"].startswith("Call back") and UNKNOWN in task["title"]
    assert task["dueDate"] == "2026-11-02T12:00:00Z"  # data.date 11:00 + 60 min
    assert task["completed"] is False
    assert task["assignedTo"] == "u-sam"
    assert outcome.ghl_ids == {"contact": contact["id"], "note": note["id"],
                               "followup_task": task["id"]}


def test_followup_due_falls_back_to_occurred_at() -> None:
    ctx = make_context(followup_due_minutes=30)
    ev = event("call.ended", {"callid": "c-1", "direction": "inbound", "state": "missed",
                              "from_number": UNKNOWN}, occurred_at="2026-11-02T08:15:00-05:00")
    apply(ev, ctx)
    (task,) = ctx.client.tasks.values()
    assert task["dueDate"] == "2026-11-02T13:45:00Z"
    assert "assignedTo" not in task


def test_outbound_call_goes_on_the_called_number() -> None:
    ctx = make_context()
    ev = event("call.ended", {"callid": "c-out", "direction": "outbound", "state": "unsuccessful",
                              "from_number": "+14155550100", "to_number": KNOWN})
    apply(ev, ctx)
    contact = ctx.client.contact_by_phone(KNOWN)
    assert len(ctx.client.notes_of(contact["id"])) == 1
    assert ctx.client.contact_by_phone("+14155550100") is None
    assert ctx.client.tasks == {}  # only missed INBOUND calls get a follow-up


def test_same_call_again_updates_its_note_and_keeps_one_followup() -> None:
    # Given the missed call applied
    ctx = make_context()
    apply(samples()["s-005"], ctx)
    # When a newer version of the same call arrives (a recording appeared)
    newer = {**samples()["s-005"], "id": "s-005-v2",
             "data": {**samples()["s-005"]["data"], "record_url": "https://rec/2"}}
    outcome, calls = apply_counting(newer, ctx)
    # Then its note is updated in place, no second note or task, no other call
    assert calls == ["update_note"]
    assert len(ctx.client.notes) == 1 and len(ctx.client.tasks) == 1
    assert "https://rec/2" in next(iter(ctx.client.notes.values()))["body"]
    assert outcome.detail.startswith("call note updated")


@pytest.mark.parametrize(("data", "what"), [
    ({"direction": "inbound", "state": "missed", "web_call": "yes", "from_raw": "webcaller_1"},
     "web call"),
    ({"direction": "inbound", "state": "missed"}, "call"),
    ({"direction": "outbound", "state": "completed", "from_number": "+15125550000"}, "call"),
])
def test_call_without_the_customers_number_is_skipped_with_the_reason(data, what) -> None:
    # Given a web call (or a withheld caller) with no customer number
    ctx = make_context()
    ev = event("call.ended", {"callid": "c-anon", **data})
    # When it is applied
    outcome = apply(ev, ctx)
    # Then it is skipped (not refused), saying why, and GHL is not called at all
    assert outcome.status == "skipped"
    assert outcome.detail.startswith(f"{what} without a customer number")
    assert ctx.client.calls == []


def test_note_of_a_mapped_contact_deleted_in_ghl_remakes_the_contact() -> None:
    # Given a mapped contact that someone deleted in GHL
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    old_id = IdMap.for_context(ctx).contact(KNOWN)
    del ctx.client.contacts[old_id]
    # When its call arrives
    _, calls = apply_counting(samples()["s-004"], ctx)
    # Then the create's 404 leads to the contact made again and one note on it
    assert calls == ["create_note", "upsert_contact", "create_note"]
    new_id = IdMap.for_context(ctx).contact(KNOWN)
    assert new_id != old_id and len(ctx.client.notes_of(new_id)) == 1
    assert IdMap.for_context(ctx).intent(f"call:{CALLID}") is None
