"""Toky objects → GHL payloads: small marshmallow schemas and pure functions.

Nothing here talks to GHL or Redis. Schemas raise marshmallow's
``ValidationError`` naming the field that cannot be mapped.
"""

from worker.mapping.appointments import appointment_payload, cancelled_payload, ghl_status
from worker.mapping.contact import UPSERT_ONLY_FIELDS, basic_contact_payload, contact_payload
from worker.mapping.custom_fields import custom_field_values, typed_value
from worker.mapping.durations import duration_text
from worker.mapping.fields import ghl_utc_seconds, parse_time
from worker.mapping.markers import carries_marker, marker, with_marker
from worker.mapping.notes import (
    call_note_body,
    note_payload,
    sms_note_body,
    toky_note_body,
    voicemail_note_body,
)
from worker.mapping.tasks import followup_task_payload, new_task_payload, task_fields

__all__ = [
    "UPSERT_ONLY_FIELDS",
    "appointment_payload",
    "basic_contact_payload",
    "call_note_body",
    "cancelled_payload",
    "carries_marker",
    "contact_payload",
    "custom_field_values",
    "duration_text",
    "followup_task_payload",
    "ghl_status",
    "ghl_utc_seconds",
    "marker",
    "new_task_payload",
    "note_payload",
    "parse_time",
    "sms_note_body",
    "task_fields",
    "toky_note_body",
    "typed_value",
    "voicemail_note_body",
    "with_marker",
]
