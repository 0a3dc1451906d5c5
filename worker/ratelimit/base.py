"""The shared GHL budget: value types, the backend interface and the facade.

One budget per GHL location, shared by every worker process on every host.
All times are in milliseconds and come from the backend's clock (the Redis
server's ``TIME`` for :class:`~worker.ratelimit.redis_backend.RedisBackend`),
never from the caller's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from clients.http_policy import RateLimitHeaders, rate_limit_headers

if TYPE_CHECKING:
    from toky_ghl.settings import Settings

DEFAULT_LEASE_MS = 60_000
DAY_MS = 86_400_000
NO_HEADERS = RateLimitHeaders()


@dataclass(frozen=True)
class Limits:
    """A budget: ``max_requests`` per sliding ``interval_ms``, ``daily_max`` per UTC day.

    All three must be at least 1 (there is no "unlimited" value).
    """

    max_requests: int
    interval_ms: int
    daily_max: int

    def __post_init__(self) -> None:
        for name in ("max_requests", "interval_ms", "daily_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_requests=settings.ghl_rate_limit_max,
            interval_ms=settings.ghl_rate_limit_interval_ms,
            daily_max=settings.ghl_rate_limit_daily,
        )


@dataclass(frozen=True)
class Grant:
    """The answer to :meth:`RateLimiter.acquire`.

    ``ok``: a slot is held; send the request, then :meth:`RateLimiter.release`.
    ``wait_ms``: 0 when ok, else at least 1: how long until asking again can succeed.
    ``slot_id``: the held slot's id, None when not ok.
    ``reason``: None when ok, else ``"burst"`` (window full) or ``"daily"``
    (day's budget spent; ``wait_ms`` runs to the next UTC midnight).
    """

    ok: bool
    wait_ms: int
    location_id: str
    slot_id: str | None
    reason: str | None
    #: the backend's view of the limits at the acquire, handed back to ``finish``
    known_limits: tuple[int, ...] | None = None


@dataclass(frozen=True)
class BudgetSnapshot:
    """The effective limits of a location and their use, at the backend's now.

    ``used_in_window`` counts in-flight requests, requests completed less than
    ``interval_ms`` ago and phantoms added from GHL's headers.
    """

    max_requests: int
    interval_ms: int
    used_in_window: int
    remaining_in_window: int
    daily_max: int
    daily_used: int
    daily_remaining: int

    @classmethod
    def from_counts(cls, limits: Limits, used_in_window: int, daily_used: int) -> BudgetSnapshot:
        """Build from the effective ``limits`` and the two counts (remainders never below 0)."""
        return cls(
            max_requests=limits.max_requests,
            interval_ms=limits.interval_ms,
            used_in_window=used_in_window,
            remaining_in_window=max(0, limits.max_requests - used_in_window),
            daily_max=limits.daily_max,
            daily_used=daily_used,
            daily_remaining=max(0, limits.daily_max - daily_used),
        )


@dataclass(frozen=True)
class Synced:
    """What :meth:`SyncBackend.sync` answered.

    ``slots``: the slot ids leased (empty when none was asked or the budget refused);
    ``wait_ms`` and ``reason`` as in :class:`Grant` when a lease was refused;
    ``limits``: the effective limits (None when the call needed none); ``day``: the UTC
    day (days since the epoch) on the backend's clock, the day the slots were leased;
    ``used_in_window`` (-1 unless reported) and ``daily_used`` (-1 when not read).
    """

    slots: tuple[str, ...]
    wait_ms: int
    reason: str | None
    limits: Limits | None
    day: int
    used_in_window: int = -1
    daily_used: int = -1


class Backend(Protocol):
    """Where the budget lives. Every method is atomic for its location.

    ``limits`` are the configured ones; a backend follows GHL's values over
    them once :meth:`observe` has stored different ones for the location.
    """

    def acquire(self, location_id: str, slot_id: str, limits: Limits, lease_ms: int) -> Grant: ...

    def release(self, location_id: str, slot_id: str, limits: Limits) -> None: ...

    def observe(self, location_id: str, seen: RateLimitHeaders, limits: Limits) -> None: ...

    def finish(self, location_id: str, slot_id: str, seen: RateLimitHeaders,
               limits: Limits, known_limits: tuple[int, ...] | None = None) -> None:
        """``release`` then ``observe``, as one atomic call (``known_limits``: the
        grant's, an optional hint)."""
        ...

    def snapshot(self, location_id: str, limits: Limits) -> BudgetSnapshot: ...


class SyncBackend(Backend, Protocol):
    """A backend that also takes a process's batched work in one atomic call
    (``worker.ratelimit.pool``)."""

    def sync(self, location_id: str, limits: Limits, *, lease_ms: int = 0, want: int = 0,
             batch_id: str = "", finishes: Sequence[tuple[str, int]] = (),
             returns: Sequence[tuple[str, int]] = (), seen: RateLimitHeaders = NO_HEADERS,
             seen_ago_ms: int = 0, report: bool = False) -> Synced:
        """In this order: ``finishes`` (slot id, ms since its answer) count from their
        answer on; ``returns`` (slot id, day leased), slots never sent, leave the window
        and the day's count; ``seen`` (the headers of an answer ``seen_ago_ms`` ago)
        corrects the budget as of that answer;
        then up to ``want`` slots are leased for ``lease_ms`` (fewer near a full window:
        a quarter of the free slots, at least one); ``report``: count the window."""
        ...


class RateLimiter:
    """Acquire a slot before each GHL request, release it when the answer arrived.

    ``lease_ms``: how long a slot counts as in flight before its holder is
    presumed dead; it must exceed the longest request (connect + read
    timeouts). A dead holder's slot frees ``lease_ms + interval_ms`` after
    the acquire.
    """

    def __init__(self, backend: Backend, limits: Limits, *, lease_ms: int = DEFAULT_LEASE_MS):
        if lease_ms < 1:
            raise ValueError(f"lease_ms must be at least 1, got {lease_ms}")
        self.backend = backend
        self.limits = limits
        self.lease_ms = lease_ms

    def acquire(self, location_id: str) -> Grant:
        """Take a slot of ``location_id``'s budget now, or say how long to wait."""
        if not location_id:
            raise ValueError("location_id must not be empty")
        return self.backend.acquire(location_id, uuid.uuid4().hex, self.limits, self.lease_ms)

    def release(self, grant: Grant) -> None:
        """Mark the request done now; its slot frees ``interval_ms`` later.

        A grant that was not ok, or whose lease already ran out (its slot counts
        until ``lease_ms + interval_ms`` after the acquire), is ignored.
        """
        if grant.ok and grant.slot_id:
            self.backend.release(grant.location_id, grant.slot_id, self.limits)

    def observe(self, location_id: str, headers: Mapping[str, str]) -> None:
        """Correct the budget from a GHL answer's ``X-RateLimit-*`` headers."""
        seen = rate_limit_headers(headers)
        if seen != RateLimitHeaders():
            self.backend.observe(location_id, seen, self.limits)

    def finish(self, grant: Grant, headers: Mapping[str, str]) -> None:
        """An answer arrived: ``release(grant)`` and ``observe`` its headers, in one call
        to the backend (one round trip to Redis)."""
        if not (grant.ok and grant.slot_id):
            self.observe(grant.location_id, headers)
            return
        self.backend.finish(grant.location_id, grant.slot_id, rate_limit_headers(headers),
                            self.limits, grant.known_limits)

    def snapshot(self, location_id: str) -> BudgetSnapshot:
        return self.backend.snapshot(location_id, self.limits)
