"""The delay store's Redis keys, one place (read by ``status`` and the metrics exporter).

Per GHL location ``L`` (``P`` is ``TOKY_GHL_KEY_PREFIX``, default ``tokyghl``):

- ``P:delay:locations`` (SET): the locations that have, or had, parked events.
- ``P:delay:L:due`` (ZSET): event id -> due time, epoch ms (Redis server clock).
  Events parked behind a gate (open circuit, paused location, spent daily
  budget) are due at once: the scheduler holds them while the gate is shut,
  and releases them in this order (oldest first) when it opens.
- ``P:delay:L:items`` (HASH): event id -> JSON ``{"message", "reason",
  "parked_at_ms", "label"}``; ``message`` is the Celery task message to push
  back onto the queue, built when the event was parked.
- ``P:delay:L:since`` (ZSET): event id -> when it was FIRST parked, epoch ms
  (kept across re-parks): the oldest parked event's age is ``now - min``.
- ``P:delay:L:reasons`` (HASH): reason -> how many events are parked for it
  (kept by the same Lua calls that park and release, so always exact).

An event id is parked at most once per location: parking it again replaces
its record. Park and release are single Lua scripts: a process killed at any
point has either done all of one or none of it.
"""

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


def locations_key(prefix: str) -> str:
    return f"{prefix}:delay:locations"


def due_key(prefix: str, location: str) -> str:
    return f"{prefix}:delay:{location}:due"


def items_key(prefix: str, location: str) -> str:
    return f"{prefix}:delay:{location}:items"


def since_key(prefix: str, location: str) -> str:
    return f"{prefix}:delay:{location}:since"


def reasons_key(prefix: str, location: str) -> str:
    return f"{prefix}:delay:{location}:reasons"


def location_keys(prefix: str, location: str) -> list[str]:
    """The four per-location keys, in the order the Lua scripts take them."""
    return [due_key(prefix, location), items_key(prefix, location),
            since_key(prefix, location), reasons_key(prefix, location)]
