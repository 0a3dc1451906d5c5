"""call.ended: one note per callid on the customer's contact; a missed inbound call
also gets one open follow-up task."""

from __future__ import annotations

from producers.events import Event, object_key
from worker.mapping import call_note_body, note_payload
from worker.sync.children import NOTE, write_child
from worker.sync.context import SyncContext
from worker.sync.customer import customer_phone
from worker.sync.followups import ensure_followup
from worker.sync.outcome import Outcome, Unprocessable


def call_ended(event: Event, ctx: SyncContext) -> Outcome:
    data = event["data"]
    phone = customer_phone(event)
    if not phone:
        side = "from_number" if data["direction"] == "inbound" else "to_number"
        raise Unprocessable(f"data.{side} is missing: no contact to put the call's note on")
    key = object_key(event)
    payload = note_payload(call_note_body(data, key), data.get("agent"), ctx.field_map)
    note, done = write_child(ctx, NOTE, key, payload, phone=phone,
                             name=data.get("contact_name"), email=data.get("contact_email"))
    ghl_ids = {"contact": note.contact_id, "note": note.ghl_id}
    if data["direction"] == "inbound" and data["state"] == "missed":
        task = ensure_followup(event, ctx, contact_id=note.contact_id, phone=phone,
                               reason="Missed call")
        ghl_ids["followup_task"] = task.ghl_id
        return Outcome.applied(f"call note {done}; follow-up task open", **ghl_ids)
    return Outcome.applied(f"call note {done}", **ghl_ids)
