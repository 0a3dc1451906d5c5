"""When to retry a GHL call and how long to wait: small pure functions and a policy value.

The waits follow the policy both clients share (``clients.http_policy``: the
``Retry-After`` rule, full-jitter backoff). Randomness (``rand``) is injected so
tests pin it. ``attempt`` is 0-based everywhere: the
index of the attempt that just failed (Celery's ``self.request.retries``), so the
first retry waits about ``base_ms``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clients import http_policy
from clients.ghl.errors import GhlConnectionError, GhlRateLimitedError, GhlServerError

if TYPE_CHECKING:
    from toky_ghl.settings import Settings

__all__ = ["RetryPolicy", "hint_ms", "is_retryable", "wait_ms"]


def is_retryable(error: BaseException) -> bool:
    """True for 429, 5xx and connection errors; False for everything else.

    400/401/403/404/422 and scope errors are answers that will not change by
    waiting: they go to the dead-letter store (401: after one token refresh).
    """
    return isinstance(error, GhlRateLimitedError | GhlServerError | GhlConnectionError)


def wait_ms(
    error: BaseException,
    attempt: int,
    *,
    base_ms: int,
    cap_ms: int,
    rand: Callable[[], float] = random.random,
) -> int:
    """How long to wait before retrying after ``error``, in ms, never above ``cap_ms``.

    429 (or a long wait asked by the local limiter): ``retry_after_ms`` when
    known, else the server's window (``interval_ms``), else backoff. Anything
    else: backoff with full jitter. A server hint above ``cap_ms`` is cut to
    ``cap_ms`` (countdowns must stay far below the broker's visibility timeout);
    the next attempt then meets the limiter again.
    """
    return http_policy.wait_ms(hint_ms(error), attempt, base_ms=base_ms, cap_ms=cap_ms,
                               rand=rand)


def hint_ms(error: BaseException) -> int | None:
    """The wait a 429 asks for: ``retry_after_ms``, else the server's window
    (``interval_ms``); None for any other error or when neither is known."""
    if not isinstance(error, GhlRateLimitedError):
        return None
    return next((h for h in (error.retry_after_ms, error.interval_ms) if h is not None), None)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry policy as a value.

    ``max_attempts``: total attempts including the first (1 means never retry).
    ``base_ms``: the first backoff ceiling; ``cap_ms``: the longest wait.
    """

    max_attempts: int = 8
    base_ms: int = 500
    cap_ms: int = 60_000

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_ms < 0 or self.cap_ms < self.base_ms:
            raise ValueError(
                f"need 0 <= base_ms <= cap_ms, got base_ms={self.base_ms}, cap_ms={self.cap_ms}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """From ``ghl_retry_max_attempts``, ``ghl_backoff_base_ms``, ``ghl_backoff_cap_ms``."""
        return cls(
            max_attempts=settings.ghl_retry_max_attempts,
            base_ms=settings.ghl_backoff_base_ms,
            cap_ms=settings.ghl_backoff_cap_ms,
        )

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """True when ``error`` is retryable and attempt ``attempt`` (0-based) was not the last."""
        return is_retryable(error) and attempt + 1 < self.max_attempts

    def wait_ms(
        self, error: BaseException, attempt: int, rand: Callable[[], float] = random.random
    ) -> int:
        """The wait before the retry that follows failed attempt ``attempt``, in ms."""
        return wait_ms(error, attempt, base_ms=self.base_ms, cap_ms=self.cap_ms, rand=rand)
