"""GHL's ``X-RateLimit-*`` answer headers, read into one small value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_NAMES = {
    "x-ratelimit-max": "max_requests",
    "x-ratelimit-remaining": "remaining",
    "x-ratelimit-interval-milliseconds": "interval_ms",
    "x-ratelimit-limit-daily": "daily_limit",
    "x-ratelimit-daily-remaining": "daily_remaining",
}
# A limit or window of 0 would mean "nothing ever allowed": treat it as garbage.
_POSITIVE = {"max_requests", "interval_ms", "daily_limit"}


@dataclass(frozen=True)
class RateLimitHeaders:
    """What GHL said about the budget; every field None when absent or unreadable.

    ``max_requests``: requests per window (>= 1). ``remaining``: left in the
    window (>= 0). ``interval_ms``: the window in milliseconds (>= 1).
    ``daily_limit``: requests per day (>= 1). ``daily_remaining``: left today (>= 0).
    """

    max_requests: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None


def _whole(raw: object) -> int | None:
    text = str(raw).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def parse_headers(headers: Mapping[str, str] | None) -> RateLimitHeaders:
    """Read the five headers, names in any case; missing or garbage values give None."""
    found: dict[str, int] = {}
    for name, raw in (headers or {}).items():
        field = _NAMES.get(str(name).strip().lower())
        value = _whole(raw) if field else None
        if field and value is not None and (value > 0 or field not in _POSITIVE):
            found[field] = value
    return RateLimitHeaders(**found)
