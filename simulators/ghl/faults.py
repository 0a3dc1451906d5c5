"""Fault dice: which requests fail with a 5xx, which writes lose their answer.

Test instruments, not GHL behaviours: GHL documents no 5xx bodies (the body here is
NestJS's default shape, an ASSUMPTION). Writes that are applied but answered with
an error are reported by users (highlevel-api-docs issue #64, reference/ghl-api.md
"Known API quirks"), hence the lost answers.
"""

from __future__ import annotations

import random
from typing import Any

#: Statuses of injected server errors, drawn evenly.
ERROR_STATUSES = (500, 502, 503)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


class FaultDice:
    """Seeded draws, so a run with a fixed ``seed`` fails the same requests each time.

    A rate of 0.0 never fires and draws nothing; 1.0 always fires.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def server_error(self, rate: float) -> int | None:
        """A status from ``ERROR_STATUSES`` with probability ``rate``, else None."""
        if rate <= 0 or (rate < 1 and self._rng.random() >= rate):
            return None
        return self._rng.choice(ERROR_STATUSES)

    def lose_answer(self, rate: float) -> bool:
        """True with probability ``rate``: the write is kept but answered 504."""
        return rate > 0 and (rate >= 1 or self._rng.random() < rate)


def error_body(status: int) -> dict[str, Any]:
    """The body of an injected 5xx/504, in GHL's ``statusCode``/``message`` shape."""
    return {"statusCode": status, "message": _REASONS.get(status, "Server Error")}
