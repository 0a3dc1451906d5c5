"""Contacts as GHL keeps them: field rules, duplicate matching, listing.

Records are stored in the shape GHL answers with: custom fields are WRITTEN as
``[{"id"|"key", "field_value"}]`` and READ back as ``[{"id", "value"}]``.

Sources: the Contact schemas of apps/contacts.json (fields, E.164 ``phone``,
``dateAdded``/``dateUpdated``; custom fields written with ``field_value`` and read
with ``value``), reference/ghl-api.md "Objects". Tags sent on an upsert or PUT
replace the contact's (UpsertContactDto/UpdateContactDto carry the whole list;
the tags endpoints add and remove), as reference/ghl-api.md "Endpoints" reads them.
Duplicate matching follows the location's "Allow Duplicate Contact" setting
("Duplicates and upsert"; the 400 with ``meta.contactId`` from several clients).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

from simulators.ghl.records import iso_ms, new_id
from simulators.ghl.state import Location

#: Fields every answer carries (None when never set); others appear once set.
STANDARD_FIELDS = (
    "id", "locationId", "name", "firstName", "lastName", "email", "phone", "companyName",
    "address1", "city", "state", "country", "postalCode", "website", "timezone", "source",
    "assignedTo", "dnd", "tags", "customFields", "dateAdded", "dateUpdated",
)
#: Body fields that steer a write and are not stored on the contact.
_NOT_STORED = ("locationId", "createNewIfDuplicateAllowed")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


@overload
def normalise_phone(phone: str) -> str: ...
@overload
def normalise_phone(phone: None) -> None: ...
def normalise_phone(phone: str | None) -> str | None:
    """``"+1 888-888-8888"`` -> ``"+18888888888"``. Phones without ``+`` are kept as sent
    (GHL would read them in the location's country, which the simulator does not know)."""
    if not phone:
        return phone
    return _PHONE_PUNCTUATION.sub("", phone) if phone.strip().startswith("+") else phone


def _email_key(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def dedupe(tags: Iterable[str]) -> list[str]:
    """Tags without repeats, first spelling and order kept."""
    return list(dict.fromkeys(tags))


def new_contact(location_id: str, fields: Mapping[str, Any], now_s: float) -> dict[str, Any]:
    contact: dict[str, Any] = dict.fromkeys(STANDARD_FIELDS)
    contact.update(id=new_id(), locationId=location_id, dnd=False, tags=[], customFields=[],
                   dateAdded=iso_ms(now_s))
    apply_fields(contact, fields, now_s)
    return contact


def apply_fields(contact: dict[str, Any], fields: Mapping[str, Any], now_s: float) -> None:
    """Write body ``fields`` onto ``contact``. ``tags`` REPLACE the contact's tags (use the
    tags endpoints to add or remove); custom fields merge by id. ``dndSettings``
    replaces the whole object: whether GHL merges it per channel is UNCONFIRMED
    (apps/contacts.json DndSettingsSchema gives only the shape), so the simulator
    takes the case that loses data unless the client sends every channel."""
    for name, value in fields.items():
        if name in _NOT_STORED:
            continue
        if name == "tags":
            contact["tags"] = dedupe(value or [])
        elif name == "customFields":
            contact["customFields"] = _merge_custom_fields(contact["customFields"], value or [])
        elif name == "phone":
            contact["phone"] = normalise_phone(value)
        else:
            contact[name] = value
    if "name" not in fields and ("firstName" in fields or "lastName" in fields):
        parts = [contact.get("firstName"), contact.get("lastName")]
        contact["name"] = " ".join(p for p in parts if p) or None
    contact["dateUpdated"] = iso_ms(now_s)


def _merge_custom_fields(current: list[dict[str, Any]],
                         written: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = {item["id"]: item["value"] for item in current}
    for item in written:
        merged[item.get("id") or item["key"]] = item.get("field_value")
    return [{"id": key, "value": value} for key, value in merged.items()]


def find_match(
    location: Location, email: str | None, phone: str | None, *, exclude_id: str | None = None
) -> tuple[dict[str, Any], str] | None:
    """The contact with this email (compared lower-cased), else with this phone (E.164),
    and the field that matched: ``"email"`` or ``"phone"``. None when neither matches.

    Email before phone: apps/contacts.json, "Get Duplicate Contact" ("first priority for
    search is `email` and the second priority will be `phone`") and "Upsert Contact"
    (with one contact matching the email and another the phone, "the API will update
    the contact that matches the first field in the configured sequence, and ignore the
    second"); highlevel-api-docs issue #37. The order is the location's setting in GHL;
    email first is the one both descriptions name.
    """
    wanted = (("email", _email_key(email), _email_key),
              ("phone", normalise_phone(phone), normalise_phone))
    for field, value, key in wanted:
        if not value:
            continue
        for contact in location.contacts.values():
            if contact["id"] != exclude_id and key(contact.get(field)) == value:
                return contact, field
    return None


def matches_query(contact: Mapping[str, Any], query: str | None) -> bool:
    """Free-text match: ``query`` in the name, email, phone or company (any case)."""
    if not query:
        return True
    needle = query.strip().lower()
    fields = ("name", "firstName", "lastName", "email", "phone", "companyName")
    return any(needle in str(contact.get(f) or "").lower() for f in fields)


def list_after(
    contacts: Iterable[dict[str, Any]], *, start_after: str | None, start_after_id: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int, bool]:
    """GET /contacts/ paging, oldest first by (dateAdded, id).

    ``start_after`` is the ISO ``dateAdded`` of the last contact seen (from epoch
    ms), ``start_after_id`` its id; either may be None. Returns the page, the total
    of all matching contacts, and whether more follow the page.
    """
    ordered = sorted(contacts, key=lambda c: (c["dateAdded"], c["id"]))
    total = len(ordered)
    if start_after_id and start_after is None:
        start_after = next((c["dateAdded"] for c in ordered if c["id"] == start_after_id), None)
    if start_after is not None:
        if start_after_id:
            cursor = (start_after, start_after_id)
            ordered = [c for c in ordered if (c["dateAdded"], c["id"]) > cursor]
        else:
            ordered = [c for c in ordered if c["dateAdded"] > start_after]
    return ordered[:limit], total, len(ordered) > limit
