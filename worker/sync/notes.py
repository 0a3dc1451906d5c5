"""note.created / updated / deleted: one GHL note per Toky note_id."""

from __future__ import annotations

from contract.events import Event, object_key
from worker.mapping import note_payload, toky_note_body
from worker.sync.children import NOTE, delete_child, write_child
from worker.sync.context import SyncContext
from worker.sync.outcome import Outcome


def note_written(event: Event, ctx: SyncContext) -> Outcome:
    data = event["data"]
    key = object_key(event)
    payload = note_payload(toky_note_body(data, key), data.get("agent"), ctx.field_map)
    note, done = write_child(ctx, NOTE, key, payload, phone=data["phone"])
    return Outcome.applied(f"note {done}", contact=note.contact_id, note=note.ghl_id)


def note_deleted(event: Event, ctx: SyncContext) -> Outcome:
    return delete_child(ctx, NOTE, object_key(event))
