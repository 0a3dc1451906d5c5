"""The ``filter`` query parameter of Toky's history lists (/cdrs, /sms): dates only.

Toky documents the filter with dates (``(created_at >= 2017-06-01) AND
(created_at <= 2017-06-02)``, the SMS-by-date reference; a third-party client
sends the same on /cdrs); whether it honours a time is UNCONFIRMED
(reference/toky-api.md). So only dates are sent, widened to whole days: the
start is the (GMT) day of ``start``, the end the day AFTER ``end`` (a bare
date may be read as its midnight). Callers drop rows outside the exact range
and rely on the ids already seen, so a read is right whether or not Toky
honours a time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from clients.toky import paths


def gmt_day(moment: date | datetime) -> date:
    """The GMT day of ``moment`` (a naive datetime is taken as GMT already)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.date()
    return moment


def toky_date(moment: date | datetime) -> str:
    """``moment``'s GMT day as Toky's filter writes it: ``2017-06-01``."""
    return gmt_day(moment).strftime(paths.FILTER_DATE_FORMAT)


def created_between(start: date | datetime | None, end: date | datetime | None) -> str:
    """``(created_at >= START_DAY) AND (created_at <= END_DAY)``, dates only.

    ``START_DAY`` is ``start``'s day; ``END_DAY`` is ``end`` itself for a date,
    the day after for a datetime (the whole of ``end``'s day is included).
    Either end may be None (an open range), not both.
    """
    clauses = []
    if start is not None:
        clauses.append(f"({paths.FILTER_FIELD} >= {toky_date(start)})")
    if end is not None:
        last = gmt_day(end) + timedelta(days=1) if isinstance(end, datetime) else end
        clauses.append(f"({paths.FILTER_FIELD} <= {toky_date(last)})")
    if not clauses:
        raise ValueError("created_between needs a start, an end or both")
    return " AND ".join(clauses)
