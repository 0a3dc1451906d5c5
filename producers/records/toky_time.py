"""Toky's times ("2017-07-05 21:46:44", GMT, no zone) as the ISO 8601 the contract wants.

Shared by the poller and the webhook receiver, so both write the same
``occurred_at`` and ``date`` for the same Toky object.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contract.times import parse_toky_date

ISO_Z_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_toky_time(raw: object) -> datetime | None:
    """``raw`` as an aware UTC datetime; None when it is empty or not a time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return parse_toky_date(raw).astimezone(UTC)
    except ValueError:
        return None


def iso_z(moment: datetime) -> str:
    """``moment`` in UTC as ``2017-07-05T21:46:44Z`` (whole seconds)."""
    return moment.astimezone(UTC).strftime(ISO_Z_FORMAT)


def toky_time_as_iso(raw: object) -> object:
    """A Toky time as ISO 8601 with ``Z``; anything unreadable is returned unchanged,
    so that validation names the field instead of the value silently vanishing.
    """
    moment = parse_toky_time(raw)
    return iso_z(moment) if moment else raw


def first_time(*candidates: object) -> object:
    """The first non-empty candidate (e.g. ``end_time`` then ``init_dt``), as ISO with ``Z``."""
    for raw in candidates:
        if isinstance(raw, str) and raw.strip():
            return toky_time_as_iso(raw)
    return None
