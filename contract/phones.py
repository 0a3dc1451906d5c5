"""Phone numbers to E.164 with the ``phonenumbers`` library."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

_E164 = phonenumbers.PhoneNumberFormat.E164


def normalize_phone(raw: str, region: str | None = None) -> str:
    """``raw`` in E.164 (``"(415) 555-0134"``, ``"US"`` → ``"+14155550134"``).

    ``region`` is an ISO 3166 alpha-2 code (Toky's ``country_code``) used for
    numbers written without their country prefix; ``None`` means the number
    must start with ``+``. A number is accepted when its length is possible
    for its country (not checked against allocated ranges, so new ranges pass).
    Raises ``ValueError`` with the reason.
    """
    if not isinstance(raw, str):
        raise ValueError(f"phone number must be a string, got {type(raw).__name__}")
    if not raw.strip():
        raise ValueError("phone number is empty")
    return _normalize(raw, region if isinstance(region, str) else None)


@lru_cache(maxsize=8192)  # parsing is the costliest step of validation; numbers repeat
def _normalize(raw: str, region: str | None) -> str:
    if raw.strip().startswith("+"):
        region = None  # the number carries its country
    region = region.strip().upper() if region else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown country code {region!r} for phone number {raw!r}")
    if region is None and not raw.strip().startswith("+"):
        raise ValueError(
            f"phone number {raw!r} has no country: start it with + or give a country_code"
        )
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        where = f" for region {region}" if region else ""
        raise ValueError(f"not a valid phone number {raw!r}{where}")
    return phonenumbers.format_number(number, _E164)
