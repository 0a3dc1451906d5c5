"""Where the mirror reads GHL contacts from: a small interface, so the producer side never
imports the worker (the command wires ``producers.mirror.ghl_source.GhlContactChanges``)."""

from __future__ import annotations

from typing import Any, Protocol


class SourceError(Exception):
    """Root of the errors of a contact source."""


class SourceBusy(SourceError):
    """The shared rate budget asks to wait ``wait_ms`` before the next request."""

    def __init__(self, message: str, *, wait_ms: int) -> None:
        super().__init__(message)
        self.wait_ms = max(1, int(wait_ms))


class SourceFailed(SourceError):
    """The page could not be read (GHL error, credentials, network): the poll fails and the
    next one starts again from the unchanged cursor."""


class ContactSource(Protocol):
    """GHL contacts sorted by ``(dateUpdated, id)`` ascending, one page per call."""

    page_size: int

    def page(self, after: tuple[int, str]) -> list[dict[str, Any]]:
        """The next ``page_size`` contacts strictly after ``(dateUpdated epoch ms, id)``.

        Raises ``SourceBusy`` or ``SourceFailed``.
        """
        ...
