"""note.created / updated / deleted."""

from __future__ import annotations

from tests.unit.sync_support import apply, apply_counting, event, make_context, samples

PHONE = "+14155550134"


def test_note_created_updated_deleted() -> None:
    # Given a known contact and an agent map
    ctx = make_context(field_map={"agents": {"sam@company.test": "u-sam"}})
    apply(samples()["s-001"], ctx)
    # When s-010 is applied: one note with the body, its key and the agent's user
    outcome, calls = apply_counting(samples()["s-010"], ctx)
    assert calls == ["create_note"]
    (note,) = ctx.client.notes.values()
    assert note["body"] == "Decision maker is the CFO.\n\n[toky:note:nt-12]"
    assert note["userId"] == "u-sam"
    assert outcome.ghl_ids["note"] == note["id"]
    # When updated: the same note, changed in place
    _, calls = apply_counting(event("note.updated", {
        "note_id": "nt-12", "phone": PHONE, "body": "The CFO decides."}), ctx)
    assert calls == ["update_note"]
    assert ctx.client.notes[note["id"]]["body"].startswith("The CFO decides.")
    # When deleted
    outcome, calls = apply_counting(event("note.deleted", {"note_id": "nt-12",
                                                           "phone": PHONE}), ctx)
    assert calls == ["delete_note"] and ctx.client.notes == {}


def test_note_updated_whose_note_was_deleted_in_ghl_is_made_again() -> None:
    ctx = make_context()
    apply(samples()["s-010"], ctx)
    ctx.client.notes.clear()
    _, calls = apply_counting(event("note.updated", {
        "note_id": "nt-12", "phone": PHONE, "body": "Again"}), ctx)
    assert calls == ["update_note", "create_note"]
    assert len(ctx.client.notes) == 1


def test_note_deleted_that_ghl_never_had_is_skipped() -> None:
    ctx = make_context()
    outcome, calls = apply_counting(event("note.deleted", {"note_id": "nt-x",
                                                           "phone": PHONE}), ctx)
    assert calls == [] and outcome.status == "skipped" and "note:nt-x" in outcome.detail
