"""call.ended: one note per callid on the customer's contact; a missed inbound call
also gets one open follow-up task. A call without the customer's number (a web
call, a withheld caller) is skipped with the reason, and counted as skipped."""

from __future__ import annotations

from contract.events import Event, customer_phone, object_key
from worker.mapping import call_note_body, note_payload
from worker.sync.children import NOTE, write_child
from worker.sync.context import SyncContext
from worker.sync.followups import ensure_followup
from worker.sync.outcome import Outcome


def call_ended(event: Event, ctx: SyncContext) -> Outcome:
    data = event["data"]
    phone = customer_phone(event)
    if not phone:  # a web call, a withheld caller: no number to find a contact by
        side = "from_number" if data["direction"] == "inbound" else "to_number"
        what = "web call" if str(data.get("web_call", "")).lower() in ("yes", "true", "1") \
            else "call"
        return Outcome.skipped(f"{what} without a customer number (no data.{side}): "
                               "no contact to put the note on")
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
