"""What the two GHL test doubles share: ``FakeGhl`` (in memory) and ``SimGhl`` (the real
client against the simulator over HTTP) take the same test controls and show what GHL
holds the same way, so one scenario runs on either."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, TypeVar

from clients.ghl.api import Json
from clients.ghl.errors import GhlConnectionError, GhlError

T = TypeVar("T")


class GhlDouble:
    """Base of the doubles: each subclass has ``contacts``, ``notes`` and ``tasks`` (id →
    object) and calls ``_enter`` before and ``_leave`` after doing a client method's work."""

    contacts: dict[str, Json]
    notes: dict[str, Json]
    tasks: dict[str, Json]

    def _start_recording(self) -> None:
        self.calls: list[str] = []
        self.payloads: list[tuple[str, Any]] = []
        self._failures: dict[str, list[GhlError]] = defaultdict(list)
        self._lost: dict[str, int] = defaultdict(int)

    # -- test controls ------------------------------------------------------------------

    def fail(self, method: str, error: GhlError) -> None:
        """The next call of ``method`` raises ``error`` (and changes nothing)."""
        self._failures[method].append(error)

    def lose_answer(self, method: str) -> None:
        """The next call of ``method`` does its work, then raises a connection error."""
        self._lost[method] += 1

    def count(self, method: str) -> int:
        return self.calls.count(method)

    # -- what GHL holds -----------------------------------------------------------------

    def contact_by_phone(self, phone: str) -> Json | None:
        return next((c for c in self.contacts.values() if c.get("phone") == phone), None)

    def notes_of(self, contact_id: str) -> list[Json]:
        return [n for n in self.notes.values() if n["contactId"] == contact_id]

    def tasks_of(self, contact_id: str) -> list[Json]:
        return [t for t in self.tasks.values() if t["contactId"] == contact_id]

    # -- around each call ---------------------------------------------------------------

    def _enter(self, method: str, payload: Any = None) -> None:
        self.calls.append(method)
        self.payloads.append((method, copy.deepcopy(payload)))
        if self._failures[method]:
            raise self._failures[method].pop(0)

    def _leave(self, method: str, result: T) -> T:
        if self._lost[method]:
            self._lost[method] -= 1
            raise GhlConnectionError("ReadTimeout (the request may have reached GHL)",
                                     maybe_sent=True, method="POST", path=f"/{method}")
        return result
