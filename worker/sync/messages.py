"""voicemail.created (a note and an open follow-up task), sms.received / sms.sent (a note)."""

from __future__ import annotations

from contract.events import Event, customer_phone, object_key
from worker.mapping import note_payload, sms_note_body, voicemail_note_body
from worker.sync.children import NOTE, write_child
from worker.sync.context import SyncContext
from worker.sync.followups import ensure_followup
from worker.sync.outcome import Outcome


def voicemail_created(event: Event, ctx: SyncContext) -> Outcome:
    data = event["data"]
    phone = data["from_number"]
    key = object_key(event)
    payload = note_payload(voicemail_note_body(data, key), data.get("agent"), ctx.field_map)
    note, done = write_child(ctx, NOTE, key, payload, phone=phone)
    task = ensure_followup(event, ctx, contact_id=note.contact_id, phone=phone,
                           reason="Voicemail")
    return Outcome.applied(f"voicemail note {done}; follow-up task open",
                           contact=note.contact_id, note=note.ghl_id, followup_task=task.ghl_id)


def sms_logged(event: Event, ctx: SyncContext) -> Outcome:
    """sms.received / sms.sent: one note per sms id on the customer's contact."""
    data = event["data"]
    received = event["type"] == "sms.received"
    key = object_key(event)
    body = sms_note_body(data, key, received=received)
    phone = customer_phone(event)
    assert phone is not None  # (SmsData requires from_number and to_number)
    note, done = write_child(ctx, NOTE, key, note_payload(body, data.get("agent"), ctx.field_map),
                             phone=phone)
    return Outcome.applied(f"sms note {done}", contact=note.contact_id, note=note.ghl_id)
