"""When the Toky client retries, and how long it waits: small pure functions.

Retried: 429, 5xx and connection errors for reads (GET); for writes (POST,
PUT, DELETE) only a connection error where the request surely never arrived,
so a write is never applied twice. 400/401/403/404/409/422 are never retried.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable

from producers.toky.errors import (
    TokyConnectionError,
    TokyError,
    TokyRateLimitedError,
    TokyServerError,
)

READ_METHODS = frozenset({"GET", "HEAD"})


def should_retry(error: TokyError, method: str) -> bool:
    """True when sending ``method`` again after ``error`` is safe and may help."""
    if isinstance(error, TokyConnectionError):
        return method in READ_METHODS or not error.request_sent
    if isinstance(error, TokyRateLimitedError | TokyServerError):
        return method in READ_METHODS
    return False


def backoff_ms(
    attempt: int, *, base_ms: int, cap_ms: int, rand: Callable[[], float]
) -> float:
    """Full-jitter wait before retry number ``attempt`` (1 = first retry), in ms.

    A uniform draw (``rand()`` in [0, 1)) of ``min(cap_ms, base_ms * 2**(attempt-1))``.
    """
    ceiling_ms = min(cap_ms, base_ms * 2 ** max(0, attempt - 1))
    return rand() * ceiling_ms


def wait_ms(
    error: TokyError, attempt: int, *, base_ms: int, cap_ms: int, rand: Callable[[], float]
) -> float:
    """How long to wait before retry ``attempt``, in ms; Retry-After wins, capped at ``cap_ms``."""
    hint_s = getattr(error, "retry_after_s", None)
    if hint_s is not None:
        return min(float(cap_ms), max(0.0, hint_s * 1000))
    return backoff_ms(attempt, base_ms=base_ms, cap_ms=cap_ms, rand=rand)


def parse_retry_after_s(value: str | None, *, now_s: float) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now_s``.

    None when the header is absent or unreadable; never negative.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_s)
