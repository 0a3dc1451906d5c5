"""Timestamps as Toky and the contract write them.

- ISO 8601 with a zone offset or ``Z`` (``occurred_at`` requires the zone).
- Toky's ``"2026-11-02 10:00:00"``: GMT without a zone (its ``date`` fields).
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_timestamp(raw: str, *, require_zone: bool = False) -> datetime:
    """``raw`` as an aware ``datetime``.

    With ``require_zone`` a time without an offset is an error; without it a
    time without an offset is taken as UTC (GMT), as Toky's ``date`` fields are.
    Raises ``ValueError`` with the reason.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("empty timestamp")
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp {raw!r}") from None
    if moment.tzinfo is None:
        if require_zone:
            raise ValueError(f"missing zone offset in {raw!r} (add Z or +HH:MM)")
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_occurred_at(raw: str) -> datetime:
    """An envelope's ``occurred_at``: ISO 8601 with a zone offset or ``Z``."""
    return parse_timestamp(raw, require_zone=True)


def parse_toky_date(raw: str) -> datetime:
    """A Toky ``date`` (``"2026-11-02 10:00:00"``, GMT) or any ISO 8601 time."""
    return parse_timestamp(raw, require_zone=False)
