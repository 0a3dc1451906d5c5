"""Triggers: every event type a rule can start from, with its fields and their types.

Read from the registry of event types (``contract.event_types``), so a new
event type or field is a trigger and a field here without anyone writing it twice.
Besides the event's ``data`` fields, a condition may read ``contact.tags``: the
tags GHL last reported for the customer's contact (from the id map, else read
from GHL once), e.g. to act only on calls from contacts tagged ``vip``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import fields as mm

from contract import fields as pf
from contract.event_types import EVENT_SPECS

#: Field types, as the catalogue names them.
TEXT, PHONE, EMAIL, CHOICE, TIME, NUMBER, BOOL, LIST, MAPPING = (
    "text", "phone", "email", "choice", "time", "number", "bool", "list", "mapping")
#: The virtual field with the customer contact's tags in GHL.
CONTACT_TAGS = "contact.tags"


@dataclass(frozen=True)
class Field:
    """One field a condition or a template may read: its type, required or not,
    and the values allowed (``choices``, for a choice)."""

    name: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        kind = f"choice of {', '.join(self.choices)}" if self.choices else self.type
        return kind + (", required" if self.required else "")


@dataclass(frozen=True)
class Trigger:
    """An event type and the fields its rules can use."""

    event_type: str
    fields: dict[str, Field]
    description: str

    @property
    def has_customer(self) -> bool:
        """False for the GHL → Toky mirror events (no GHL contact of a customer to act on)."""
        return EVENT_SPECS[self.event_type].writes_ghl


def _field_type(field: mm.Field[Any]) -> tuple[str, tuple[str, ...]]:
    """The catalogue type of one marshmallow field (most specific class first)."""
    if isinstance(field, pf.Choice):
        return CHOICE, tuple(field.choices)
    for cls, name in ((pf.Phone, PHONE), (pf.Email, EMAIL), (pf.Timestamp, TIME),
                      (pf.NonNegativeNumber, NUMBER), (pf.Flag, BOOL), (pf.Tags, LIST),
                      (pf.Mapping, MAPPING)):
        if isinstance(field, cls):
            return name, ()
    return TEXT, ()


def _trigger(event_type: str) -> Trigger:
    spec = EVENT_SPECS[event_type]
    schema = spec.schema()
    found: dict[str, Field] = {}
    for name, field in schema.fields.items():
        kind, choices = _field_type(field)
        found[name] = Field(name, kind, bool(field.required), choices)
    if spec.writes_ghl:  # a customer's GHL contact whose tags a condition may read
        found[CONTACT_TAGS] = Field(CONTACT_TAGS, LIST)
    doc = (spec.schema.__doc__ or "").strip().splitlines()
    return Trigger(event_type, found, doc[0] if doc else "")


TRIGGERS: dict[str, Trigger] = {event_type: _trigger(event_type) for event_type in EVENT_SPECS}
