"""List answers of the Toky simulator: the ``filter`` date range and ``limit``/``offset`` pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from clients.toky import paths

#: ASSUMPTION: Toky's default page size is undocumented.
DEFAULT_LIMIT = 100

_CLAUSE = r"\(\s*(\w+)\s*(>=|<=|>|<|=)\s*([0-9][0-9: T-]*?)\s*\)"
_FILTER = re.compile(rf"\s*{_CLAUSE}(?:\s+AND\s+{_CLAUSE})*\s*", re.IGNORECASE)
_OPS: dict[str, Callable[[datetime, datetime], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "=": lambda a, b: a == b,
}


class BadQuery(ValueError):
    """A list query the simulator answers with 400; the message says what is wrong."""


def parse_time(text: str) -> datetime:
    """A Toky time ("2017-07-05 21:46:44", GMT) or date ("2017-06-01" = its midnight)."""
    text = text.strip().replace("T", " ")
    for fmt in (paths.TOKY_TIME_FORMAT, paths.FILTER_DATE_FORMAT):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadQuery(f"not a date or time: {text!r} (expected 2017-06-01 or 2017-06-01 21:46:44)")


def filter_predicate(text: str | None, times: str = "honour") -> Callable[[str], bool]:
    """``filter=(created_at >= 2017-06-01) AND (created_at <= 2017-06-02)`` as a test of a
    row's created time. A date compares as its midnight, like SQL (so ``<= 2017-06-02``
    excludes later times that day: our assumption, Toky does not say).

    Toky documents dates only (reference/toky-api.md); what it does with a time
    is UNCONFIRMED, so ``times`` picks: ``honour`` it, ``ignore`` it (the bound
    becomes its day's midnight), ``reject`` the filter (400).
    """
    if not text or not text.strip():
        return lambda _created: True
    if not _FILTER.fullmatch(text):
        raise BadQuery(f"filter not understood: {text!r}")
    clauses = []
    for field, op, value in re.findall(_CLAUSE, text, re.IGNORECASE):
        if field.lower() != paths.FILTER_FIELD:
            raise BadQuery(f"filter on {field!r} is not supported (only {paths.FILTER_FIELD})")
        bound = parse_time(value)
        if bound.time() != datetime.min.time() or ":" in value:
            if times == "reject":
                raise BadQuery(f"filter takes dates (2017-06-01), got {value.strip()!r}")
            if times == "ignore":
                bound = bound.replace(hour=0, minute=0, second=0)
        clauses.append((_OPS[op], bound))
    return lambda created: all(test(parse_time(created), bound) for test, bound in clauses)


def _int_arg(args: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = args.get(name, "")
    try:
        value = int(raw) if raw != "" else default
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise BadQuery(f"{name} must be at least {minimum}, got {value}")
    return value


def page(rows: list[dict[str, Any]], args: Mapping[str, str], base_url: str) -> dict[str, Any]:
    """One page of ``rows`` (already newest first) as ``{"count", "next", "results"}``.

    ``next`` is an absolute URL keeping every other query parameter, or None.
    """
    # Over 500 is clamped to 500 rather than refused: Toky documents the
    # maximum, not what it does above it.
    limit = min(_int_arg(args, "limit", DEFAULT_LIMIT, 1), paths.MAX_PAGE_SIZE)
    offset = _int_arg(args, "offset", 0, 0)
    results = rows[offset:offset + limit]
    next_url = None
    if offset + limit < len(rows):
        query = {**dict(args), "limit": str(limit), "offset": str(offset + limit)}
        next_url = f"{base_url}?{urlencode(query)}"
    return {
        paths.PAGE_COUNT_KEY: len(results),
        paths.PAGE_NEXT_KEY: next_url,
        paths.PAGE_RESULTS_KEY: results,
    }
