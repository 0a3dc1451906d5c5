"""Timestamps as Toky and the contract write them.

- ISO 8601 with a zone offset or ``Z`` (``occurred_at`` requires the zone).
- Toky's ``"2026-11-02 10:00:00"``: GMT without a zone (its ``date`` fields).
"""

from __future__ import annotations

from datetime import UTC, datetime

#: The years a timestamp may fall in (UTC). Outside them a time is surely wrong, and
#: year 1 or 9999 with an offset cannot even be converted to UTC (OverflowError).
MIN_YEAR, MAX_YEAR = 1900, 2999


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
    except (ValueError, OverflowError):
        raise ValueError(f"not an ISO 8601 timestamp {raw!r}") from None
    if moment.tzinfo is None:
        if require_zone:
            raise ValueError(f"missing zone offset in {raw!r} (add Z or +HH:MM)")
        moment = moment.replace(tzinfo=UTC)
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        year = moment.year
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"out of range {raw!r} (the year must be {MIN_YEAR} to {MAX_YEAR})")
    return moment


def parse_occurred_at(raw: str) -> datetime:
    """An envelope's ``occurred_at``: ISO 8601 with a zone offset or ``Z``."""
    return parse_timestamp(raw, require_zone=True)


def parse_toky_date(raw: str) -> datetime:
    """A Toky ``date`` (``"2026-11-02 10:00:00"``, GMT) or any ISO 8601 time."""
    return parse_timestamp(raw, require_zone=False)
