"""voicemail.created and sms.received / sms.sent."""

from __future__ import annotations

from tests.unit.sync_support import apply, apply_counting, event, make_context, samples

CALLER = "+14155550177"
LINE = "+14155550100"


def test_voicemail_makes_a_note_and_an_open_followup() -> None:
    # Given the caller's contact made by the missed call before
    ctx = make_context(followup_due_minutes=60)
    apply(samples()["s-005"], ctx)
    # When the voicemail s-006 arrives
    outcome, calls = apply_counting(samples()["s-006"], ctx)
    # Then one note and one follow-up task more, on the same contact, no other call
    assert calls == ["create_note", "create_task"]
    contact = ctx.client.contact_by_phone(CALLER)
    notes = ctx.client.notes_of(contact["id"])
    voicemail_note = next(n for n in notes if "[toky:voicemail:vm-5521]" in n["body"])
    assert "Voicemail from +14155550177" in voicemail_note["body"]
    assert "https://app.toky.co/voicemails/vm-5521" in voicemail_note["body"]
    task = next(t for t in ctx.client.tasks_of(contact["id"])
                if "[toky:followup:voicemail:vm-5521]" in t["body"])
    assert task["title"] == f"Call back {CALLER}"
    assert task["dueDate"] == "2026-11-02T12:01:00Z" and task["completed"] is False
    assert outcome.ghl_ids["followup_task"] == task["id"]


def test_voicemail_again_costs_one_note_update_and_no_second_task() -> None:
    ctx = make_context()
    apply(samples()["s-006"], ctx)
    _, calls = apply_counting({**samples()["s-006"], "id": "s-006-bis"}, ctx)
    assert calls == ["update_note"]
    assert len(ctx.client.tasks) == 1 and len(ctx.client.notes) == 1


def test_sms_received_goes_on_the_sender() -> None:
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    outcome, calls = apply_counting(samples()["s-007"], ctx)
    assert calls == ["create_note"]
    contact = ctx.client.contact_by_phone("+14155550134")
    (note,) = ctx.client.notes_of(contact["id"])
    assert note["body"].startswith("SMS received")
    assert "Running 5 minutes late" in note["body"] and "[toky:sms:sms-9001]" in note["body"]
    assert outcome.ghl_ids == {"contact": contact["id"], "note": note["id"]}


def test_sms_sent_goes_on_the_recipient() -> None:
    ctx = make_context()
    apply(event("sms.sent", {"id": "sms-2", "from_number": LINE, "to_number": CALLER,
                             "text": "On my way"}), ctx)
    contact = ctx.client.contact_by_phone(CALLER)
    (note,) = ctx.client.notes_of(contact["id"])
    assert note["body"].startswith("SMS sent") and "On my way" in note["body"]
    assert ctx.client.contact_by_phone(LINE) is None
