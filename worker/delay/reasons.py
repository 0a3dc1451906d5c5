"""Why a parked event waits (the delay store's reasons; its keys are in ``worker.keys``)."""

from __future__ import annotations

from enum import StrEnum


class ParkReason(StrEnum):
    """Why an event waits."""

    RATE = "rate"  # the shared rate budget's window is full (longer than RATE_WAIT_INLINE_MAX_MS)
    BACKOFF = "backoff"  # a transient failure (5xx, timeout, 404 race, busy object): backoff
    CIRCUIT = "circuit"  # the location's circuit is open: GHL is not called
    AUTH = "auth"  # the location is paused, or the OAuth token endpoint is unreachable
    DAILY = "daily"  # the location's daily budget is spent until UTC midnight


#: Reasons whose events wait for a gate, not a time: due at once, held by the scheduler.
GATE_REASONS = frozenset({ParkReason.CIRCUIT, ParkReason.AUTH, ParkReason.DAILY})
