"""GHL contact → Toky contact fields (the mirror's direction), and what an update must change.

Toky's contact fields (``clients.toky.paths.CONTACT_FIELDS``): ``contact_name``
= GHL's full name (``name``, else first and last names), ``email`` trimmed,
``city``, ``country_code`` = GHL's ``country`` when it is an ISO 3166 alpha-2
code (anything else is left out: Toky's poller would refuse it). The phone is
the contact's identity and is handled by the caller. Blank fields are left out,
so a field GHL lacks never clears Toky's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from producers.mirror.shared import canonical, ghl_name, region_of

#: Toky contact field → the shared field it holds (``producers.mirror.shared``).
SHARED_NAME = {"contact_name": "name", "email": "email", "city": "city",
               "country_code": "country", "phone": "phone"}


def toky_contact_fields(ghl: Mapping[str, Any]) -> dict[str, str]:
    """The Toky fields (phone excluded) a GHL contact gives, blanks left out."""
    email = ghl.get("email")
    fields = {
        "contact_name": ghl_name(ghl),
        "email": email.strip() if isinstance(email, str) else "",
        "city": " ".join(ghl["city"].split()) if isinstance(ghl.get("city"), str) else "",
        "country_code": region_of(ghl.get("country")) or "",
    }
    return {k: v for k, v in fields.items() if v}


def _same(field: str, a: Any, b: Any) -> bool:
    shared = SHARED_NAME[field]
    return canonical({shared: a}) == canonical({shared: b})


def changed_fields(current: Mapping[str, Any], wanted: Mapping[str, str]) -> dict[str, str]:
    """The fields of ``wanted`` that differ from Toky's ``current`` contact once both are in
    the shared canonical form (an email differing only in case is not a change)."""
    return {k: v for k, v in wanted.items() if not _same(k, v, current.get(k))}


def toky_fields_of(contact: Mapping[str, Any]) -> dict[str, str]:
    """A Toky contact's own fields (the directory's columns), blanks left out."""
    return {k: v for k in SHARED_NAME if isinstance(v := contact.get(k), str) and v.strip()}
