"""Counters of what the simulator answered, for tests and benchmarks."""

from __future__ import annotations

from collections import Counter
from typing import Any


class SimStats:
    """Requests per ``"METHOD /path-template"`` and per status, 429s, injected faults.

    Admin routes (``/_sim/...``) are not counted. Not thread-safe by itself.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests_total = 0
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.rate_limited = 0
        self.injected_5xx = 0
        self.lost_answers = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "by_route": dict(sorted(self.by_route.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "rate_limited": self.rate_limited,
            "injected_5xx": self.injected_5xx,
            "lost_answers": self.lost_answers,
        }
