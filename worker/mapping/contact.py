"""Toky contact → GHL contact payload (contract, section 1; field map, section 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from marshmallow import EXCLUDE, Schema, ValidationError, post_load, pre_load

from worker.fieldmap import FieldMap, lookup
from worker.mapping.custom_fields import custom_field_values
from worker.mapping.fields import CleanText

SOURCE = "Toky"
#: Fields GHL takes on create and upsert but not on PUT /contacts/{id}
#: (the spec's UpdateContactDto lacks them): a payload with one is upserted.
UPSERT_ONLY_FIELDS = frozenset({"companyName"})


class ContactSchema(Schema):
    """GHL standard fields (picked from Toky data by the field map) → GHL's values.

    ``name`` also gives ``firstName`` (its first word) and ``lastName`` (the
    rest) unless the map fills those itself; ``email`` is trimmed and
    lower-cased; ``country`` upper-cased. Blank or null values are left out.
    """

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

    @pre_load
    def _drop_unset(self, data: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v is not None}

    @post_load
    def _normalise(self, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        payload = {k: v for k, v in payload.items() if v is not None}
        if "name" in payload:
            first, _, rest = payload["name"].partition(" ")
            payload.setdefault("firstName", first)
            payload.setdefault("lastName", rest.strip())
        if "email" in payload:
            payload["email"] = payload["email"].lower()
        if "country" in payload:
            payload["country"] = payload["country"].upper()
        return payload


_SCHEMA = ContactSchema()


def contact_payload(data: Mapping[str, Any], field_map: FieldMap) -> dict[str, Any]:
    """The GHL contact payload for a Toky contact (``data`` of contact.created/updated).

    Standard fields from the field map, ``phone`` (E.164), ``source`` "Toky",
    ``tags`` (the contact's own, then those the map's rules add; left out when
    none) and ``customFields`` (left out when none). Raises marshmallow's
    ``ValidationError`` naming the field that cannot be mapped.
    """
    picked = {ghl: lookup(data, toky) for ghl, toky in field_map.standard.items()}
    try:
        standard = _SCHEMA.load(picked)
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
    return {**_SCHEMA.load({"name": name, "email": email}), "phone": phone, "source": SOURCE}
