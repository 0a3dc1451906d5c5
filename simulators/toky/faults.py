"""Error answers the Toky simulator is told to give (to test retries over real HTTP)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    """Answer the next ``times`` requests of API ``path`` ("/cdrs") with ``status``.

    ``retry_after_s``: the ``Retry-After`` header to send, in seconds (None: none).
    """

    path: str
    status: int
    times: int = 1
    retry_after_s: float | None = None


class Faults:
    """Armed faults, thread-safe; the first armed for a path answers first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(fault)

    def take(self, path: str) -> Fault | None:
        """The fault for this request of ``path``, used up once; None when none is armed."""
        with self._lock:
            for fault in self._armed:
                if fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._armed.remove(fault)
                    return fault
        return None
