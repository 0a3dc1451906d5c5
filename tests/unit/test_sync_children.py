"""No duplicate children: an answer lost after GHL wrote is found and adopted on retry."""

from __future__ import annotations

import pytest

from clients.ghl.errors import GhlConnectionError, GhlRateLimitedError, GhlServerError
from tests.unit.sync_support import apply, apply_counting, event, make_context, samples
from worker.idmap import IdMap

CALL_KEY = "call:8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11"


def _known_contact():
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    return ctx


def test_note_whose_answer_was_lost_is_adopted_not_made_twice() -> None:
    # Given GHL creates the call's note but the answer is lost on the way back
    ctx = _known_contact()
    ctx.client.lose_answer("create_note")
    with pytest.raises(GhlConnectionError):
        apply(samples()["s-004"], ctx)
    assert len(ctx.client.notes) == 1
    assert IdMap.for_context(ctx).get(CALL_KEY) is None  # the id never reached us
    # When the pipeline retries the event
    outcome, calls = apply_counting(samples()["s-004"], ctx)
    # Then the note is found by its Toky key and adopted: still one note, now mapped
    assert calls[:1] == ["list_notes"] and "create_note" not in calls
    assert len(ctx.client.notes) == 1
    (note_id,) = ctx.client.notes
    assert IdMap.for_context(ctx).get(CALL_KEY).ghl_id == note_id
    assert outcome.ghl_ids["note"] == note_id and "adopted" in outcome.detail


def test_intent_without_an_object_in_ghl_creates_it() -> None:
    # Given a create that failed before GHL wrote anything (a 503)
    ctx = _known_contact()
    ctx.client.fail("create_note", GhlServerError("unavailable", status=503))
    with pytest.raises(GhlServerError):
        apply(samples()["s-004"], ctx)
    # When retried
    _, calls = apply_counting(samples()["s-004"], ctx)
    # Then GHL is searched once, then the note made: exactly one
    assert calls == ["list_notes", "create_note"]
    assert len(ctx.client.notes) == 1


def test_followup_task_whose_answer_was_lost_is_adopted() -> None:
    # Given the missed call's note made, but the follow-up task's answer lost
    ctx = make_context()
    ctx.client.lose_answer("create_task")
    with pytest.raises(GhlConnectionError):
        apply(samples()["s-005"], ctx)
    # When retried
    _, calls = apply_counting(samples()["s-005"], ctx)
    # Then the note is updated in place, the task adopted: one note, one task
    assert calls == ["update_note", "list_tasks"]
    assert len(ctx.client.notes) == 1 and len(ctx.client.tasks) == 1


def test_appointment_whose_answer_was_lost_is_adopted_by_title() -> None:
    ctx = _known_contact()
    ctx.client.lose_answer("create_appointment")
    with pytest.raises(GhlConnectionError):
        apply(samples()["s-011"], ctx)
    _, calls = apply_counting(samples()["s-011"], ctx)
    assert "create_appointment" not in calls and calls[0] == "list_contact_appointments"
    assert len(ctx.client.appointments) == 1


def test_task_whose_answer_was_lost_is_adopted() -> None:
    ctx = _known_contact()
    ctx.client.lose_answer("create_task")
    with pytest.raises(GhlConnectionError):
        apply(samples()["s-008"], ctx)
    _, calls = apply_counting(samples()["s-008"], ctx)
    assert calls[0] == "list_tasks" and "create_task" not in calls
    assert len(ctx.client.tasks) == 1


def test_normal_path_never_reads_before_creating() -> None:
    # Given every sample applied in order on an empty sub-account
    ctx = make_context()
    for ev in samples().values():
        apply(ev, ctx)
    # Then no GET was ever made: no list, no get, no search except the unmapped delete
    reads = [c for c in ctx.client.calls if c.startswith(("list_", "get_"))]
    assert reads == []


@pytest.mark.parametrize("error", [
    GhlRateLimitedError("local wait too long", from_server=False),
    GhlRateLimitedError("Too many requests", status=429),
    GhlConnectionError("ConnectTimeout (the request was not sent)", maybe_sent=False),
])
def test_create_that_surely_wrote_nothing_is_retried_without_a_look(error) -> None:
    # Given a note create refused before GHL did anything
    ctx = _known_contact()
    ctx.client.fail("create_note", error)
    with pytest.raises(type(error)):
        apply(samples()["s-004"], ctx)
    # When retried / Then no list first: exactly one create
    _, calls = apply_counting(samples()["s-004"], ctx)
    assert calls == ["create_note"]


def test_a_customers_sms_quoting_a_marker_is_never_taken_for_the_calls_note() -> None:
    # Given a customer SMS whose text is the call's marker (and ends with it), synced as a
    # note, and a call note whose first create failed before GHL wrote anything
    ctx = _known_contact()
    sms = {**samples()["s-007"]["data"], "text": f"hello\n\n[toky:{CALL_KEY}]"}
    apply(event("sms.received", sms, event_id="evt-sms"), ctx)
    (sms_note_id,) = ctx.client.notes
    ctx.client.fail("create_note", GhlServerError("unavailable", status=503))
    with pytest.raises(GhlServerError):
        apply(samples()["s-004"], ctx)
    # When the call is retried (GHL is searched for a note carrying its key)
    _, calls = apply_counting(samples()["s-004"], ctx)
    # Then the SMS note is not adopted: the call gets its own note
    assert calls == ["list_notes", "create_note"]
    assert len(ctx.client.notes) == 2
    call_note = IdMap.for_context(ctx).get(CALL_KEY).ghl_id
    assert call_note != sms_note_id
    assert ctx.client.notes[call_note]["body"].rstrip().endswith(f"[toky:{CALL_KEY}]")
