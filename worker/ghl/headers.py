"""Reading GHL's answer headers: Retry-After, X-RateLimit-*, request ids.

Pure functions over any ``Mapping[str, str]``; names are matched without regard
to case (``requests`` gives a case-insensitive dict, tests may give a plain one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

#: Headers that may carry an id for the request, first found wins. GHL's own
#: request-id header is UNCONFIRMED (not in the official spec): these are guesses.
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Trace-Id", "Request-Id", "CF-Ray")


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value of header ``name`` (any case), stripped; None when absent or blank."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            value = str(value).strip()
            return value or None
    return None


def retry_after_ms(headers: Mapping[str, str] | None, now_s: float | None = None) -> int | None:
    """``Retry-After`` in milliseconds (never negative), or None when absent or unreadable.

    The header is either delay-seconds (``"5"``, fractions accepted) or an
    HTTP-date, which is compared with ``now_s`` (epoch seconds; None means
    ``time.time()``). A date in the past gives 0.
    """
    raw = header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" zone: HTTP-dates are always UTC (RFC 9110)
            when = when.replace(tzinfo=UTC)
        now = time.time() if now_s is None else now_s
        seconds = when.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0, math.ceil(seconds * 1000))


def int_header(headers: Mapping[str, str] | None, name: str) -> int | None:
    """Header ``name`` as a non-negative whole number, or None when absent or not one."""
    raw = header(headers, name)
    if raw is None:
        return None
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):
        return None
    return value if value >= 0 else None


def interval_ms(headers: Mapping[str, str] | None) -> int | None:
    """The burst window from ``X-RateLimit-Interval-Milliseconds``, or None."""
    return int_header(headers, "X-RateLimit-Interval-Milliseconds")


def request_id(headers: Mapping[str, str] | None) -> str | None:
    """The first request-id-like header of the answer, or None."""
    for name in REQUEST_ID_HEADERS:
        value = header(headers, name)
        if value:
            return value
    return None
