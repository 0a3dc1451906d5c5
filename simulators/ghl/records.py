"""Ids and timestamps shaped like GHL's.

Source: the examples of apps/contacts.json (ids like ``ve9EPM428h8vShlRW1KT``: 20
alphanumerics; ``dateAdded`` ``2021-07-02T05:18:26.704Z``: UTC with milliseconds),
reference/ghl-api.md "Objects".
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta

_ALPHANUMERIC = string.ascii_letters + string.digits
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
ID_LENGTH = 20


def new_id() -> str:
    """A random 20-character alphanumeric id, like ``ve9EPM428h8vShlRW1KT``."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(ID_LENGTH))


def iso_from_ms(epoch_ms_: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds: ``2021-07-02T05:18:26.704Z``."""
    moment = _EPOCH + epoch_ms_ * _ONE_MS
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_ms(epoch_s: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds (rounded to the millisecond)."""
    return iso_from_ms(round(epoch_s * 1000))


def epoch_ms(iso: str) -> int:
    """An ISO 8601 timestamp with offset (or ``Z``) as epoch milliseconds, exactly."""
    return (datetime.fromisoformat(iso) - _EPOCH) // _ONE_MS


def utc_day(epoch_s: float) -> str:
    """The UTC date of ``epoch_s`` (seconds), ``YYYY-MM-DD``: the daily budget's key."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d")
