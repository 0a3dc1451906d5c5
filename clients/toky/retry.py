"""When the Toky client retries, and how long it waits.

Retried: 429, 5xx and connection errors for reads (GET); for writes (POST,
PUT, DELETE) only a connection error where the request surely never arrived
(``request_sent`` False, ``clients.http_policy.may_have_arrived``), so a write is
never applied twice. 400/401/403/404/409/422 are never retried. The waits follow
the policy both clients share (``clients.http_policy``).
"""

from __future__ import annotations

from collections.abc import Callable

from clients import http_policy
from clients.toky.errors import (
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


def wait_ms(
    error: TokyError, attempt: int, *, base_ms: int, cap_ms: int, rand: Callable[[], float]
) -> int:
    """How long to wait after failed attempt ``attempt`` (0-based), in ms: Toky's
    ``Retry-After`` when it sent one, else full-jitter backoff; never above ``cap_ms``."""
    hint_ms = None if error.retry_after_s is None else error.retry_after_s * 1000
    return http_policy.wait_ms(hint_ms, attempt, base_ms=base_ms, cap_ms=cap_ms, rand=rand)
