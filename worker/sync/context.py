"""Everything a sync handler needs, passed in one object (easy to build in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from toky_ghl.settings import Settings


@dataclass
class SyncContext:
    """Dependencies of the handlers.

    ``client`` is a ``worker.ghl.client.GhlClient`` (or a test double with the
    same methods); ``redis`` holds the id map and other state under
    ``settings.key_prefix``; ``field_map`` is the loaded, validated field map;
    ``log`` a structlog logger already bound to the event's id, type and key;
    ``toky`` the Toky client the mirror writes with (None: one made from the settings
    when needed).
    """

    client: Any
    redis: redis.Redis
    settings: Settings
    field_map: Any
    log: Any
    toky: Any = None

    def key(self, *parts: str) -> str:
        """A Redis key under the configured prefix."""
        return ":".join((self.settings.key_prefix, *parts))
