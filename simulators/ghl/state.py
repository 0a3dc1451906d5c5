"""The in-memory store: per location, its objects and settings.

Plain data, no locking: ``GhlSim`` guards it with its one lock. Objects are kept
in the shape GHL answers with (see ``contacts.py`` for contacts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Grant:
    """What a Bearer token may do: its location and its scopes."""

    location_id: str
    scopes: frozenset[str]


@dataclass
class Location:
    """One sub-account. ``allow_duplicates`` is GHL's "Allow Duplicate Contact" setting
    (apps/contacts.json, UpsertContactDto.createNewIfDuplicateAllowed: with it on, an
    upsert with the flag creates at once; off, the flag is ignored); switch it with
    ``GhlSim.set_allow_duplicates``, ``POST /_sim/locations`` or
    ``--allow-duplicates``."""

    location_id: str
    allow_duplicates: bool = False
    calendars: set[str] = field(default_factory=set)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: workflow id → contact id → enrollment; campaign id → contact id → membership
    workflows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: contact id → the GHL user ids following it
    followers: dict[str, list[str]] = field(default_factory=dict)
    opportunities: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Appointment automations GHL ran (confirmations, reminders): one entry per
    #: appointment write without ``toNotify: false`` (AppointmentCreateSchema:
    #: "If set to false, the automations will not run"; whether they run when it
    #: is left out is UNCONFIRMED, taken as yes).
    automations: list[dict[str, Any]] = field(default_factory=list)
    #: The location's custom fields (GET /locations/{id}/customFields), by id.
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The agency (company) the location belongs to (GET /locations/{id}: companyId).
    company_id: str = ""

    def clear_objects(self) -> None:
        """Forget contacts and everything on them; keep settings, calendars, users,
        custom fields."""
        for kind in (self.contacts, self.tasks, self.notes, self.appointments, self.workflows,
                     self.campaigns, self.followers, self.opportunities):
            kind.clear()
        self.automations.clear()

    def children(self, kind: dict[str, dict[str, Any]], contact_id: str) -> list[dict[str, Any]]:
        """The tasks or notes (``kind``) of one contact, oldest first."""
        return [item for item in kind.values() if item["contactId"] == contact_id]

    def snapshot(self) -> dict[str, Any]:
        return {
            "allowDuplicates": self.allow_duplicates,
            "calendars": sorted(self.calendars),
            "users": list(self.users.values()),
            "contacts": list(self.contacts.values()),
            "tasks": list(self.tasks.values()),
            "notes": list(self.notes.values()),
            "appointments": list(self.appointments.values()),
            "workflows": self.workflows,
            "campaigns": self.campaigns,
            "followers": self.followers,
            "opportunities": list(self.opportunities.values()),
            "automations": list(self.automations),
            "customFields": list(self.custom_fields.values()),
            "companyId": self.company_id,
        }


class Store:
    """Tokens and locations. A location exists as soon as anything names it."""

    def __init__(self) -> None:
        self.tokens: dict[str, Grant] = {}
        self.locations: dict[str, Location] = {}

    def location(self, location_id: str) -> Location:
        if location_id not in self.locations:
            self.locations[location_id] = Location(location_id, company_id=f"co-{location_id}")
        return self.locations[location_id]

    def clear_objects(self) -> None:
        for location in self.locations.values():
            location.clear_objects()

    def clear_all(self) -> None:
        self.tokens.clear()
        self.locations.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"locations": {lid: loc.snapshot() for lid, loc in sorted(self.locations.items())}}
