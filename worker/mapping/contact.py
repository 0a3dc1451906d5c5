"""Toky contact → GHL contact payload (contract, section 1; field map, section 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from marshmallow import EXCLUDE, Schema, ValidationError

from contract.quick_load import QuickLoad
from worker.fieldmap import FieldMap, lookup
from worker.mapping.custom_fields import custom_field_values
from worker.mapping.fields import CleanText

SOURCE = "Toky"
#: Fields GHL takes on create and upsert but not on PUT /contacts/{id}
#: (the spec's UpdateContactDto lacks them): a payload with one is upserted.
UPSERT_ONLY_FIELDS = frozenset({"companyName"})


class ContactSchema(Schema):
    """GHL standard fields (picked from Toky data by the field map), each trimmed (blank:
    None). ``load_contact`` makes GHL's values of them."""

    class Meta:
        unknown = EXCLUDE

    name = CleanText()
    firstName = CleanText()
    lastName = CleanText()
    email = CleanText()
    companyName = CleanText()
    address1 = CleanText()
    city = CleanText()
    state = CleanText()
    postalCode = CleanText()
    country = CleanText()
    website = CleanText()
    timezone = CleanText()
    dateOfBirth = CleanText()


_SCHEMA = ContactSchema()
#: ``_SCHEMA.load`` of valid fields without marshmallow's bookkeeping (``contract.quick_load``:
#: the schema has no hooks, so that its load can be quick; they are ``load_contact``'s steps).
_QUICK = QuickLoad(_SCHEMA)


def load_contact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """GHL's values of the standard ``fields``: null or blank values left out; ``name``
    also gives ``firstName`` (its first word) and ``lastName`` (the rest) unless the map
    fills those itself; ``email`` trimmed and lower-cased; ``country`` upper-cased. Raises
    marshmallow's ``ValidationError`` naming a field that cannot be read."""
    given = {k: v for k, v in fields.items() if v is not None}
    loaded = _QUICK(given)
    if loaded is None:  # a problem: the schema's own load names it
        loaded = _SCHEMA.load(given)
    payload = {k: v for k, v in loaded.items() if v is not None}
    if "name" in payload:
        first, _, rest = payload["name"].partition(" ")
        payload.setdefault("firstName", first)
        payload.setdefault("lastName", rest.strip())
    if "email" in payload:
        payload["email"] = payload["email"].lower()
    if "country" in payload:
        payload["country"] = payload["country"].upper()
    return payload


def contact_payload(data: Mapping[str, Any], field_map: FieldMap) -> dict[str, Any]:
    """The GHL contact payload for a Toky contact (``data`` of contact.created/updated).

    Standard fields from the field map, ``phone`` (E.164), ``source`` "Toky",
    ``tags`` (the contact's own, then those the map's rules add; left out when
    none) and ``customFields`` (left out when none). Raises marshmallow's
    ``ValidationError`` naming the field that cannot be mapped.
    """
    picked = {ghl: lookup(data, toky) for ghl, toky in field_map.standard.items()}
    try:
        standard = load_contact(picked)
    except ValidationError as exc:  # name the Toky field, not the GHL one
        raise ValidationError(
            {field_map.standard.get(k, k): v
             for k, v in cast(dict[str, Any], exc.messages).items()}) from None
    payload = {**standard, "phone": data["phone"], "source": SOURCE}
    tags = list(dict.fromkeys([*(data.get("tags") or []), *field_map.tags_for(data)]))
    if tags:
        payload["tags"] = tags
    custom = custom_field_values(data, field_map)
    if custom:
        payload["customFields"] = custom
    return payload


def basic_contact_payload(
    phone: str, *, name: str | None = None, email: str | None = None
) -> dict[str, Any]:
    """The payload that makes a contact for a phone GHL may not know (from a call, an sms…)."""
    return {**load_contact({"name": name, "email": email}), "phone": phone, "source": SOURCE}
