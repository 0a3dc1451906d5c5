"""GHL's server-side rate limit, per location: a sliding window plus a daily count.

Source: HighLevel's rate-limit page (marketplace docs, "other/rate-limits"; see
reference/ghl-api.md "Rate limits"): 100 requests per 10 s burst and 200,000 per
day, per app per resource (location), reported on every answer as
``X-RateLimit-Max``, ``-Remaining``, ``-Interval-Milliseconds``, ``-Limit-Daily``,
``-Daily-Remaining``; over the limit, 429. Whether GHL sends ``Retry-After`` is
UNCONFIRMED (``SimConfig.send_retry_after``). A sliding window, and not counting
refused requests, are ASSUMPTIONS (GHL does not say how it counts).

A request is counted when it arrives. One refused with 429 is not counted, so a
client that waits out the window gets its full budget back. Not thread-safe by
itself: ``GhlSim`` calls it under its lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulators.ghl.records import utc_day


@dataclass(frozen=True)
class RateDecision:
    """The verdict on one request and the numbers GHL reports in its headers."""

    allowed: bool
    max_requests: int
    remaining: int
    interval_ms: int
    daily_max: int
    daily_remaining: int
    retry_after_s: int | None = None  # only for refused requests: whole seconds to wait

    def headers(self, *, with_retry_after: bool = False) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (and ``Retry-After`` when asked and refused)."""
        out = {
            "X-RateLimit-Max": str(self.max_requests),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-RateLimit-Limit-Daily": str(self.daily_max),
            "X-RateLimit-Daily-Remaining": str(self.daily_remaining),
        }
        if with_retry_after and not self.allowed and self.retry_after_s is not None:
            out["Retry-After"] = str(self.retry_after_s)
        return out


class LocationRateLimiter:
    """Counts requests per location: arrival times (ms) in the window, and per UTC day."""

    def __init__(self) -> None:
        self._arrivals_ms: dict[str, deque[int]] = {}
        self._daily: dict[str, tuple[str, int]] = {}  # location -> (UTC day, count)

    def reset(self) -> None:
        self._arrivals_ms.clear()
        self._daily.clear()

    def admit(
        self, location_id: str, now_s: float, *, max_requests: int, interval_ms: int, daily_max: int
    ) -> RateDecision:
        """Count one request of ``location_id`` arriving at ``now_s`` (epoch seconds),
        or refuse it without counting."""
        now_ms = int(now_s * 1000)
        window = self._arrivals_ms.setdefault(location_id, deque())
        while window and window[0] <= now_ms - interval_ms:
            window.popleft()
        day = utc_day(now_s)
        counted_day, used_today = self._daily.get(location_id, (day, 0))
        if counted_day != day:
            used_today = 0

        def decision(allowed: bool, retry_after_s: int | None = None) -> RateDecision:
            return RateDecision(
                allowed, max_requests, max(0, max_requests - len(window)), interval_ms,
                daily_max, max(0, daily_max - used_today), retry_after_s,
            )

        if len(window) >= max_requests:
            oldest_ms = window[len(window) - max_requests]
            wait_ms = oldest_ms + interval_ms - now_ms
            return decision(False, max(1, math.ceil(wait_ms / 1000)))
        if used_today >= daily_max:
            return decision(False, _seconds_to_next_utc_day(now_s))
        window.append(now_ms)
        used_today += 1
        self._daily[location_id] = (day, used_today)
        return decision(True)


def _seconds_to_next_utc_day(now_s: float) -> int:
    now = datetime.fromtimestamp(now_s, UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, math.ceil((midnight - now).total_seconds()))
