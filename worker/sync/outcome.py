"""What a sync handler answers, and the errors of the sync layer (not GHL's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """What applying an event did."""

    APPLIED = "applied"  # GHL now reflects the event
    SKIPPED = "skipped"  # nothing to do (an unchanged contact, a delete of what GHL never had)


@dataclass(frozen=True)
class Outcome:
    """The result of applying one event.

    ``status`` is applied or skipped (``Status``); ``detail`` says what happened
    in words an operator reads in the log;
    ``ghl_ids`` names the GHL objects touched (kind → id).
    """

    status: Status
    detail: str
    ghl_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def applied(cls, detail: str, **ghl_ids: str) -> Outcome:
        return cls(Status.APPLIED, detail, dict(ghl_ids))

    @classmethod
    def skipped(cls, detail: str, **ghl_ids: str) -> Outcome:
        return cls(Status.SKIPPED, detail, dict(ghl_ids))


class SyncError(Exception):
    """Root of the sync layer's own errors."""


class Unprocessable(SyncError):
    """The event can never be applied as it stands (config missing, data that GHL
    cannot take); it is dead-lettered with this message, never retried."""


class Deferred(SyncError):
    """The event cannot be applied yet; it is retried later.

    Without ``retry_after_ms`` (e.g. ``task.completed`` before its
    ``task.created``) each retry counts as a failed attempt, and the event is
    dead-lettered with this message when the attempts run out. With it, the
    event waits for something that ends by itself (a lock held by another
    worker, or by a killed one until it expires): waiting is not failing.
    """

    def __init__(self, message: str, *, retry_after_ms: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms
