"""The schema of every event type's ``data``, exactly as the contract's table (which
type uses which: ``contract.event_types``).

Unknown extra fields are allowed and kept (the field map may map them).
Optional fields may be ``null`` (Toky's "not set").
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema

from contract.fields import (
    Choice,
    CountryCode,
    Email,
    Flag,
    GhlId,
    NonNegativeNumber,
    Phone,
    Tags,
    Text,
    Timestamp,
    TokyId,
)


def required(field_class: type, *args: Any, **kwargs: Any) -> Any:
    return field_class(*args, required=True, **kwargs)


def optional(field_class: type, *args: Any, **kwargs: Any) -> Any:
    return field_class(*args, allow_none=True, **kwargs)


class TokyData(Schema):
    class Meta:
        unknown = INCLUDE


class ContactData(TokyData):
    phone = required(Phone)
    contact_name = optional(Text, non_empty=False)
    email = optional(Email, non_empty=False)
    city = optional(Text, non_empty=False)
    country_code = optional(CountryCode)
    tags = optional(Tags)


class ContactRef(TokyData):
    phone = required(Phone)


class ContactTags(ContactRef):
    tags = required(Tags)


class CallData(TokyData):
    callid = required(TokyId)
    direction = required(Choice, ("inbound", "outbound"))
    state = required(Choice, ("completed", "missed", "unsuccessful"))
    from_number = optional(Phone)
    to_number = optional(Phone)
    duration = optional(NonNegativeNumber)
    date = optional(Timestamp)
    agent = optional(Text, non_empty=False)
    agent_name = optional(Text, non_empty=False)
    record_url = optional(Text, non_empty=False)
    contact_name = optional(Text, non_empty=False)
    contact_email = optional(Email, non_empty=False)


class VoicemailData(TokyData):
    id = required(TokyId)
    from_number = required(Phone)
    to_number = optional(Phone)
    date = optional(Timestamp)
    duration = optional(NonNegativeNumber)
    record_url = optional(Text, non_empty=False)
    agent = optional(Text, non_empty=False)


class SmsData(TokyData):
    id = required(TokyId)
    from_number = required(Phone)
    to_number = required(Phone)
    text = required(Text, non_empty=False)
    date = optional(Timestamp)
    agent = optional(Text, non_empty=False)


class TaskRef(TokyData):
    task_id = required(TokyId)
    phone = required(Phone)


class TaskData(TaskRef):
    title = optional(Text, non_empty=False)
    body = optional(Text, non_empty=False)
    due_date = optional(Timestamp)
    completed = optional(Flag)
    assignee = optional(Text, non_empty=False)


class TaskCompleted(TaskRef):
    completed = Flag(load_default=True)


class NoteRef(TokyData):
    note_id = required(TokyId)
    phone = required(Phone)


class NoteData(NoteRef):
    body = required(Text)
    agent = optional(Text, non_empty=False)


class AppointmentRef(TokyData):
    appointment_id = required(TokyId)
    phone = required(Phone)


class AppointmentData(AppointmentRef):
    start = required(Timestamp)
    end = optional(Timestamp)
    title = optional(Text, non_empty=False)
    assignee = optional(Text, non_empty=False)
    status = optional(Text, non_empty=False)


class GhlContactData(TokyData):
    """A GHL contact as the mirror poller reads it (GHL's own field names).

    ``id`` is GHL's contact id; ``phone`` is E.164 when present (the poller leaves
    it out, and keeps the unreadable text in ``phone_raw``, when it cannot be read:
    the worker then skips the contact and counts it). Not the contract's table:
    these types are this implementation's extension (README, "Events added to
    the contract").
    """

    id = required(GhlId)
    phone = optional(Phone)
    phone_raw = optional(Text, non_empty=False)
    name = optional(Text, non_empty=False)
    firstName = optional(Text, non_empty=False)
    lastName = optional(Text, non_empty=False)
    email = optional(Text, non_empty=False)
    city = optional(Text, non_empty=False)
    country = optional(Text, non_empty=False)
    dateAdded = optional(Timestamp)
    dateUpdated = optional(Timestamp)
