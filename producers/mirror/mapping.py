"""A GHL contact (as ``POST /contacts/search`` lists it) as a ``ghl.contact.*`` event.

- ``id``: ``ghl-contact-{contact id}-{dateUpdated epoch ms}``: one event per
  version of the contact, so reading the same version again (the cursor's
  overlap, a poller restarted before it saved its cursor) is a repeat that the
  queue drops, while each edit is a new event;
- ``type``: ``ghl.contact.created`` while the contact was never edited
  (``dateUpdated`` = ``dateAdded``), else ``ghl.contact.updated``;
- ``occurred_at``: ``dateUpdated`` (the worker's latest-wins per GHL contact);
- ``data``: GHL's own field names, only those the mirror uses (``id``, names,
  ``email``, ``phone``, ``city``, ``country``, the two dates); ``phone`` in
  E.164, or left out and kept as ``phone_raw`` when it cannot be read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contract.events import event_id_for
from contract.phones import normalize_phone
from producers.mirror.shared import region_of

#: GHL contact fields copied into the event's ``data`` (phone handled apart).
DATA_FIELDS = ("id", "name", "firstName", "lastName", "email", "city", "country",
               "dateAdded", "dateUpdated")


def epoch_ms(value: Any) -> int | None:
    """An ISO 8601 time with a zone (GHL's ``2026-11-02T10:00:00.123Z``) as epoch ms."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(round(moment.timestamp() * 1000))


def position(contact: dict[str, Any]) -> tuple[int, str] | None:
    """The ``(dateUpdated ms, id)`` sort position of a listed contact (GHL's ``searchAfter``
    when it sent one); None when the contact has no readable ``dateUpdated`` or id."""
    after = contact.get("searchAfter")
    if isinstance(after, list) and len(after) == 2 and isinstance(after[0], int | float):
        return int(after[0]), str(after[1])
    ms = epoch_ms(contact.get("dateUpdated"))
    contact_id = contact.get("id")
    if ms is None or not contact_id:
        return None
    return ms, str(contact_id)


def seen_id(contact: dict[str, Any]) -> str | None:
    """The cursor's id of one version of a contact: ``"<id>@<dateUpdated ms>"``."""
    ms = epoch_ms(contact.get("dateUpdated"))
    return f"{contact.get('id')}@{ms}" if ms is not None and contact.get("id") else None


def contact_phone(contact: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(E.164 phone, None)``, ``(None, the unreadable text)``, or ``(None, None)``: no phone."""
    raw = contact.get("phone")
    if not isinstance(raw, str) or not raw.strip():
        return None, None
    try:
        return normalize_phone(raw, region_of(contact.get("country"))), None
    except ValueError:
        return None, raw.strip()


def ghl_contact_event(contact: dict[str, Any]) -> dict[str, Any]:
    """The raw (not yet validated) event of one listed GHL contact."""
    data: dict[str, Any] = {k: contact[k] for k in DATA_FIELDS
                            if isinstance(contact.get(k), str) and contact[k].strip()}
    phone, unreadable = contact_phone(contact)
    if phone:
        data["phone"] = phone
    elif unreadable:
        data["phone_raw"] = unreadable
    updated_ms = epoch_ms(contact.get("dateUpdated"))
    contact_id = str(contact.get("id") or "").strip()
    created = updated_ms is not None and epoch_ms(contact.get("dateAdded")) == updated_ms
    return {
        "id": (event_id_for("ghl-contact", contact_id, updated_ms)
               if contact_id and updated_ms is not None else None),
        "type": "ghl.contact.created" if created else "ghl.contact.updated",
        "occurred_at": contact.get("dateUpdated"),
        "data": data,
    }
