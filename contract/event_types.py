"""The registry of event types: everything the code knows about one type, in one row.

Each ``EventSpec`` says, for one event type of the contract (and the mirror's
extension): the schema of its ``data``, the Toky object it is about (its object
key), whose phone is the customer's, what it does to its object (``EventKind``:
latest wins reads it), the GHL scopes its writes need, and the action of the
built-in rules that applies it (``worker.rules``' catalogue; ``worker.sync``
maps the action to its handler).

Producers validate against it (``contract.events``), the worker's pipeline,
dry run and automation catalogue read it; nothing else lists event types.
This module imports no worker code: both sides of the contract import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from marshmallow import INCLUDE, Schema
from marshmallow.validate import Length

from contract.fields import Choice, Text, Timestamp
from contract.fields import Mapping as MappingField
from contract.schemas import (
    AppointmentData,
    AppointmentRef,
    CallData,
    ContactData,
    ContactRef,
    ContactTags,
    GhlContactData,
    NoteData,
    NoteRef,
    SmsData,
    TaskCompleted,
    TaskData,
    TaskRef,
    TokyData,
    VoicemailData,
    required,
)

__all__ = ["DATA_SCHEMAS", "EVENT_SPECS", "EVENT_TYPES", "Envelope", "EventKind", "EventSpec",
           "event_types_of", "family_of", "spec_of"]

#: The scope every write to GHL contacts (and their notes and tasks) needs.
CONTACTS_WRITE = "contacts.write"
#: The scope writes to GHL calendars need.
CALENDARS_WRITE = "calendars/events.write"


class EventKind(StrEnum):
    """What an event does to its object, as latest wins compares it (``worker.pipeline``)."""

    #: writes its object (a call's note, a task...): one version per object key
    WRITE = "write"
    #: a contact's fields and its tags: the fields versioned per contact, the tags one by one
    CONTACT_STATE = "contact_state"
    #: adds or removes single tags: each tag versioned on its own
    TAGS = "tags"
    #: deletes its object: its version is a tombstone, so older events are stale
    DELETE = "delete"


Data = Mapping[str, Any]


def _data_phone(data: Data) -> str | None:
    return data.get("phone")


def _sender(data: Data) -> str | None:
    return data.get("from_number")


def _recipient(data: Data) -> str | None:
    return data.get("to_number")


def _caller_or_callee(data: Data) -> str | None:
    """An inbound call's caller, an outbound call's callee."""
    return data.get("from_number" if data["direction"] == "inbound" else "to_number")


def family_of(event_type: str) -> str:
    """The kind of object an event type is about: ``"call.ended"`` → ``"call"``;
    ``"ghl.contact.updated"`` → ``"ghl.contact"``."""
    return event_type.rsplit(".", 1)[0] if event_type.startswith("ghl.") else \
        event_type.split(".", 1)[0]


@dataclass(frozen=True)
class EventSpec:
    """One event type: ``schema`` of its ``data``; ``id_field`` the ``data`` field naming
    its object (the object key is ``"<family>:<id>"``); ``kind`` what it does to that
    object; ``action`` the built-in rules' action that applies it; ``scopes`` the GHL
    scopes its writes need (none: it writes nothing to GHL); ``customer`` the customer's
    phone from ``data`` (None when the event does not give it)."""

    event_type: str
    schema: type[TokyData]
    id_field: str
    action: str
    kind: EventKind = EventKind.WRITE
    scopes: tuple[str, ...] = (CONTACTS_WRITE,)
    customer: Callable[[Data], str | None] = _data_phone

    @property
    def family(self) -> str:
        return family_of(self.event_type)

    @property
    def writes_ghl(self) -> bool:
        """False for the mirror's events: they write to Toky, never to GHL."""
        return bool(self.scopes)


_APPOINTMENTS = (CONTACTS_WRITE, CALENDARS_WRITE)

_SPECS = (
    EventSpec("contact.created", ContactData, "phone", "sync_contact", EventKind.CONTACT_STATE),
    EventSpec("contact.updated", ContactData, "phone", "sync_contact", EventKind.CONTACT_STATE),
    EventSpec("contact.deleted", ContactRef, "phone", "delete_contact", EventKind.DELETE),
    EventSpec("contact.tags_added", ContactTags, "phone", "add_event_tags", EventKind.TAGS),
    EventSpec("contact.tags_removed", ContactTags, "phone", "remove_event_tags", EventKind.TAGS),
    EventSpec("call.ended", CallData, "callid", "log_call", customer=_caller_or_callee),
    EventSpec("voicemail.created", VoicemailData, "id", "log_voicemail", customer=_sender),
    EventSpec("sms.received", SmsData, "id", "log_sms", customer=_sender),
    EventSpec("sms.sent", SmsData, "id", "log_sms", customer=_recipient),
    EventSpec("task.created", TaskData, "task_id", "sync_task"),
    EventSpec("task.updated", TaskData, "task_id", "sync_task"),
    EventSpec("task.completed", TaskCompleted, "task_id", "complete_task"),
    EventSpec("task.deleted", TaskRef, "task_id", "delete_task", EventKind.DELETE),
    EventSpec("note.created", NoteData, "note_id", "sync_note"),
    EventSpec("note.updated", NoteData, "note_id", "sync_note"),
    EventSpec("note.deleted", NoteRef, "note_id", "delete_note", EventKind.DELETE),
    EventSpec("appointment.created", AppointmentData, "appointment_id", "sync_appointment",
              scopes=_APPOINTMENTS),
    EventSpec("appointment.updated", AppointmentData, "appointment_id", "sync_appointment",
              scopes=_APPOINTMENTS),
    EventSpec("appointment.cancelled", AppointmentRef, "appointment_id", "cancel_appointment",
              scopes=_APPOINTMENTS),
    # Extension: the GHL → Toky contact mirror (toky-ghl mirror), keyed by GHL's contact
    # id; it writes to Toky, never to GHL.
    EventSpec("ghl.contact.created", GhlContactData, "id", "mirror_contact_to_toky", scopes=()),
    EventSpec("ghl.contact.updated", GhlContactData, "id", "mirror_contact_to_toky", scopes=()),
)

#: Every event type, in the contract's order, and its spec.
EVENT_SPECS: dict[str, EventSpec] = {spec.event_type: spec for spec in _SPECS}
#: Every event type of the contract (and the mirror's extension).
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_SPECS)
#: Every event type and the schema of its ``data``.
DATA_SCHEMAS: dict[str, type[TokyData]] = {t: s.schema for t, s in EVENT_SPECS.items()}


def spec_of(event_type: str) -> EventSpec:
    """The spec of a known event type (``KeyError`` for an unknown one)."""
    return EVENT_SPECS[event_type]


def event_types_of(action: str) -> tuple[str, ...]:
    """The event types the built-in action ``action`` applies, in the contract's order."""
    return tuple(t for t, s in EVENT_SPECS.items() if s.action == action)


class EventType(Choice):
    default_error_messages = {"choice": "unknown event type {input!r}"}


class Envelope(Schema):
    """``id``, ``type``, ``occurred_at`` (with a zone) and ``data`` (an object)."""

    class Meta:
        unknown = INCLUDE

    id = required(Text, validate=Length(max=256, error="must be at most {max} characters"))
    type = required(EventType, EVENT_TYPES)
    occurred_at = required(Timestamp, require_zone=True)
    data = required(MappingField)
