"""Every event type of the contract, through a real worker, lands in GHL as the table says."""

from __future__ import annotations

import pytest

from tests.integration.harness import load_samples

pytestmark = pytest.mark.integration

LENA = "+14155550134"
CALLER = "+14155550177"


def test_each_sample_event_has_its_contract_effect_in_ghl(ghl, pipeline, start_worker):
    # Given the contract's sample events except the final contact deletion
    samples = load_samples()
    deletion = [e for e in samples if e["type"] == "contact.deleted"]
    others = [e for e in samples if e["type"] != "contact.deleted"]
    start_worker()

    # When they are queued and a worker applies them
    pipeline.enqueue(others)
    pipeline.wait_finished([e["id"] for e in others])

    # Then nothing was dead-lettered
    assert pipeline.dead_letters() == []
    # and one contact per phone, with the latest name and data (contact.created/updated)
    lena = ghl.contact_by_phone(LENA)
    assert lena["name"] == "Lena Park-Moreau"
    assert lena["firstName"] == "Lena" and lena["lastName"] == "Park-Moreau"
    assert lena["email"] == "lena@example.com"
    assert lena["source"] == "Toky"
    # tags of the create and of tags_added
    assert {"inbound", "priority"} <= set(lena["tags"])
    # call.ended (inbound, completed): one note naming direction, state, agent, recording, callid
    notes = [n["body"] for n in ghl.children_of("notes", LENA)]
    call_notes = [b for b in notes if "8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11" in b]
    assert len(call_notes) == 1
    assert "inbound" in call_notes[0].lower() and "completed" in call_notes[0].lower()
    assert "https://app.toky.co/recordings/8c1e5d02" in call_notes[0]
    assert "sam@company.test" in call_notes[0]
    # sms.received: a note with the text; note.created: a note with its body
    assert sum("Running 5 minutes late" in b for b in notes) == 1
    assert sum("Decision maker is the CFO." in b for b in notes) == 1
    # task.created then task.completed: one task, completed
    tasks = ghl.children_of("tasks", LENA)
    proposal = [t for t in tasks if t["title"] == "Send proposal"]
    assert len(proposal) == 1 and proposal[0]["completed"] is True
    # appointment.created: one appointment on the configured calendar
    appointments = [a for a in ghl.objects("appointments") if a["contactId"] == lena["id"]]
    assert len(appointments) == 1
    assert appointments[0]["calendarId"] == ghl.calendar_id
    assert "Proposal review" in appointments[0]["title"]

    # the missed inbound call made the caller's contact, a note and ONE open follow-up;
    # the voicemail added its note and its own follow-up
    caller = ghl.contact_by_phone(CALLER)
    assert caller is not None
    caller_notes = [n["body"] for n in ghl.children_of("notes", CALLER)]
    assert sum("0f9a2c33-1b2d-4c5e-8f70-a1b2c3d4e5f6" in b for b in caller_notes) == 1
    assert sum("vm-5521" in b for b in caller_notes) == 1
    followups = [t for t in ghl.children_of("tasks", CALLER) if t["title"].startswith("Call back")]
    assert len(followups) == 2
    assert all(CALLER in t["title"] and t["completed"] is False for t in followups)

    # When the deletion comes
    pipeline.enqueue(deletion)
    pipeline.wait_finished([e["id"] for e in deletion])
    # Then the caller's contact is gone and Lena's stays
    assert ghl.contact_by_phone(CALLER) is None
    assert ghl.contact_by_phone(LENA) is not None


def test_event_queued_twice_is_applied_once(ghl, pipeline, start_worker):
    # Given one call event
    call = next(e for e in load_samples() if e["id"] == "s-004")
    start_worker()
    # When it is queued, queued again, and re-published past the producer's dedupe
    first = pipeline.enqueue([call])
    second = pipeline.enqueue([call])
    pipeline.publisher.republish([call])
    pipeline.wait_handled(2)
    # Then the producer saw the repeat, the worker skipped the re-delivery, GHL has one note
    assert (first.queued, second.repeats) == (1, 1)
    notes = [n for n in ghl.objects("notes") if "8c1e5d02-77a1" in n["body"]]
    assert len(notes) == 1
    assert pipeline.stats.snapshot()["skipped"] == 1


def _contact(event_id: str, kind: str, at: str, **data) -> dict:
    return {"id": event_id, "type": kind, "occurred_at": at,
            "data": {"phone": "+15125550101", **data}}


def test_latest_wins_whatever_the_arrival_order(ghl, pipeline, start_worker):
    start_worker(concurrency=1)
    # Given an update that arrives before its create
    pipeline.enqueue([_contact("o-2", "contact.updated", "2026-11-02T10:00:00Z",
                               contact_name="Newer Name")])
    pipeline.wait_finished(["o-2"])
    pipeline.enqueue([_contact("o-1", "contact.created", "2026-11-02T09:00:00Z",
                               contact_name="Older Name")])
    pipeline.wait_finished(["o-1"])
    # Then the newer data stays
    assert ghl.contact_by_phone("+15125550101")["name"] == "Newer Name"

    # When a delete arrives, then an older update after it
    pipeline.enqueue([_contact("o-3", "contact.deleted", "2026-11-02T11:00:00Z")])
    pipeline.wait_finished(["o-3"])
    pipeline.enqueue([_contact("o-4", "contact.updated", "2026-11-02T10:30:00Z",
                               contact_name="Zombie")])
    pipeline.wait_finished(["o-4"])
    # Then the tombstone keeps the contact deleted
    assert ghl.contact_by_phone("+15125550101") is None

    # And a create newer than the delete brings it back
    pipeline.enqueue([_contact("o-5", "contact.created", "2026-11-02T12:00:00Z",
                               contact_name="Back Again")])
    pipeline.wait_finished(["o-5"])
    assert ghl.contact_by_phone("+15125550101")["name"] == "Back Again"


def test_delete_before_create_leaves_no_contact(ghl, pipeline, start_worker):
    start_worker(concurrency=1)
    pipeline.enqueue([_contact("d-2", "contact.deleted", "2026-11-03T10:00:00Z")])
    pipeline.wait_finished(["d-2"])
    pipeline.enqueue([_contact("d-1", "contact.created", "2026-11-03T09:00:00Z",
                               contact_name="Too Late")])
    pipeline.wait_finished(["d-1"])
    assert ghl.contact_by_phone("+15125550101") is None
    assert ghl.writes() == 0
