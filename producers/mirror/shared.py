"""The fields a Toky contact and a GHL contact share, in one canonical form, and its fingerprint.

Both directions of the sync compare contacts through these two functions, so
that the same person reads the same on either side whatever each system did to
the spelling: ``from_toky`` (a Toky directory row or ``contact.*`` data) and
``from_ghl`` (a GHL contact or a GHL contact payload) give
``{"name", "email", "phone", "city", "country"}`` with

- ``name``: Toky's ``contact_name``; GHL's ``name``, else ``firstName lastName``;
  inner whitespace collapsed;
- ``email``: trimmed, lower-cased (the Toky → GHL mapping lower-cases it);
- ``phone``: E.164 (national numbers read in the contact's country), else the
  text as given;
- ``city``: whitespace collapsed; ``country``: Toky's ``country_code`` / GHL's
  ``country``, upper-cased;

blank fields left out. ``fingerprint`` is the SHA-256 of that dict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import phonenumbers

from contract.phones import normalize_phone

SHARED_FIELDS = ("name", "email", "phone", "city", "country")


def _words(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def region_of(country: Any) -> str | None:
    """``country`` as a phone region when it is a known ISO 3166 alpha-2 code, else None."""
    code = country.strip().upper() if isinstance(country, str) else ""
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def e164_or_raw(raw: Any, country: Any = None) -> str:
    """``raw`` as E.164 (a national number read in ``country``), else the trimmed text."""
    if not isinstance(raw, str) or not raw.strip():
        return ""
    try:
        return normalize_phone(raw, region_of(country))
    except ValueError:
        return raw.strip()


def canonical(fields: Mapping[str, Any]) -> dict[str, str]:
    """The shared fields of ``fields`` (already named name/email/phone/city/country),
    normalised as the module says; blanks left out."""
    out = {
        "name": _words(fields.get("name")),
        "email": _words(fields.get("email")).lower(),
        "phone": _words(fields.get("phone")),
        "city": _words(fields.get("city")),
        "country": _words(fields.get("country")).upper(),
    }
    return {k: v for k, v in out.items() if v}


def from_toky(row: Mapping[str, Any]) -> dict[str, str]:
    """The shared fields of a Toky contact (``contact_name``, ``email``, ``phone``, ``city``,
    ``country_code``)."""
    return canonical({
        "name": row.get("contact_name"), "email": row.get("email"),
        "phone": e164_or_raw(row.get("phone"), row.get("country_code")),
        "city": row.get("city"), "country": row.get("country_code"),
    })


def ghl_name(contact: Mapping[str, Any]) -> str:
    """A GHL contact's full name: ``name`` (or ``contactName``), else first and last names."""
    for key in ("name", "contactName"):
        if _words(contact.get(key)):
            return _words(contact.get(key))
    return _words(f"{contact.get('firstName') or ''} {contact.get('lastName') or ''}")


def from_ghl(contact: Mapping[str, Any]) -> dict[str, str]:
    """The shared fields of a GHL contact, or of a contact payload sent to GHL."""
    return canonical({
        "name": ghl_name(contact), "email": contact.get("email"),
        "phone": e164_or_raw(contact.get("phone"), contact.get("country")),
        "city": contact.get("city"), "country": contact.get("country"),
    })


def fingerprint(fields: Mapping[str, Any]) -> str:
    """The SHA-256 hex digest of the canonical shared fields (stable across runs and hosts)."""
    text = json.dumps(canonical(fields), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
