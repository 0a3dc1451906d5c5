"""The ``filter`` query parameter of Toky's history lists (/cdrs, /sms)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from producers.toky import paths


def toky_time(moment: date | datetime) -> str:
    """``moment`` as Toky writes it: a ``date`` as 2017-06-01, a ``datetime`` as
    2017-06-01 21:46:44 in GMT (a naive datetime is taken as GMT already).
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.strftime(paths.FILTER_DATETIME_FORMAT)
    return moment.strftime(paths.FILTER_DATE_FORMAT)


def created_between(start: date | datetime | None, end: date | datetime | None) -> str:
    """``(created_at >= START) AND (created_at <= END)``; both ends inclusive.

    Either end may be None (an open range), not both.
    """
    clauses = []
    if start is not None:
        clauses.append(f"({paths.FILTER_FIELD} >= {toky_time(start)})")
    if end is not None:
        clauses.append(f"({paths.FILTER_FIELD} <= {toky_time(end)})")
    if not clauses:
        raise ValueError("created_between needs a start, an end or both")
    return " AND ".join(clauses)
