"""Everything a sync handler needs, passed in one object (easy to build in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
import structlog

from toky_ghl.settings import Settings

if TYPE_CHECKING:
    from clients.ghl.api import GhlApi
    from clients.toky import TokyClient
    from worker.fieldmap import FieldMap


@dataclass
class HeldLock:
    """The object lock the delivery holds (``worker.delivery``): its Redis ``key``, its
    ``token``, and ``until_s`` (``time.monotonic``) before which it surely still holds
    it (the time before the script that took it, plus its TTL)."""

    key: str
    token: str
    until_s: float


@dataclass
class SyncContext:
    """Dependencies of the handlers.

    ``client`` is a ``clients.ghl.client.GhlClient`` (or a test double meeting
    ``clients.ghl.api.GhlRecords``, the part the handlers write through); ``redis``
    holds the id map and other state under ``settings.key_prefix``; ``field_map`` is
    the loaded, validated field map; ``log`` a structlog logger already bound to the
    event's id, type and key; ``toky`` the Toky client the mirror writes with (None:
    one made from the settings when needed); ``held`` the object lock the delivery
    holds (None: none, e.g. a handler called by a test or a command).
    """

    client: GhlApi
    redis: redis.Redis
    settings: Settings
    field_map: FieldMap
    log: structlog.stdlib.BoundLogger
    toky: TokyClient | None = None
    held: HeldLock | None = None
