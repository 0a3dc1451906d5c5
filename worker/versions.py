"""Latest wins: the applied version of each Toky object, and the event ids already handled.

A version is the ``occurred_at`` of the newest event applied to an object, in
microseconds since the epoch, with a tombstone flag when that event deleted it.
An event older than the stored version is stale and skipped, whatever order
events arrive in; a delete's tombstone keeps an older create from reviving the
object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import redis

from contract.constants import EVENT_ID_TTL_S
from toky_ghl.redis_conn import text
from worker.keys import handled_key, version_key

#: How long an object's version is kept, in seconds (a year: older events
#: arriving after that are applied as if new).
VERSION_TTL_S = 365 * 24 * 3600


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


@lru_cache(maxsize=1024)  # (an event's time is read two or three times per delivery)
def occurred_at_us(occurred_at: str) -> int:
    """Microseconds since the epoch of an ISO 8601 time with a zone offset or Z (exact:
    integer arithmetic, so events a microsecond apart never compare equal)."""
    parsed = datetime.fromisoformat(occurred_at)  # Python 3.11 reads "Z" as UTC
    if parsed.tzinfo is None:
        raise ValueError(f"occurred_at has no zone offset: {occurred_at!r}")
    return (parsed - _EPOCH) // _ONE_US


@dataclass(frozen=True)
class Version:
    at_us: int
    tombstone: bool

    def encode(self) -> str:
        return f"{self.at_us}:{'d' if self.tombstone else 'l'}"

    @classmethod
    def decode(cls, raw: bytes | str) -> Version:
        text = raw.decode() if isinstance(raw, bytes) else raw
        return cls(int(text[:-2]), text[-2:] == ":d")  # "<at_us>:d" or "<at_us>:l"


class VersionStore:
    """Applied versions per object key and handled event ids, in Redis."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _version_key(self, object_key: str) -> str:
        return version_key(self._prefix, object_key)

    def _handled_key(self, event_id: str) -> str:
        return handled_key(self._prefix, event_id)

    def get(self, object_key: str) -> Version | None:
        raw = self._redis.get(self._version_key(object_key))
        return Version.decode(raw) if raw else None

    def get_many(self, object_keys: list[str]) -> dict[str, Version | None]:
        if not object_keys:
            return {}
        raws = self._redis.mget([self._version_key(k) for k in object_keys])
        return {k: Version.decode(raw) if (raw := raws[i]) else None
                for i, k in enumerate(object_keys)}

    def handled(self, event_id: str) -> str | None:
        """How the event id was handled before ("applied", "skipped: …"), or None."""
        raw = self._redis.get(self._handled_key(event_id))
        return text(raw) if raw else None

    def record(
        self, event_id: str, outcome: str, versions: dict[str, Version] | None = None
    ) -> None:
        """Atomically remember the event as handled and set the objects' versions."""
        pipe = self._redis.pipeline()  # a MULTI/EXEC transaction (redis-py's default)
        for object_key, version in (versions or {}).items():
            pipe.set(self._version_key(object_key), version.encode(), ex=VERSION_TTL_S)
        pipe.set(self._handled_key(event_id), outcome, ex=EVENT_ID_TTL_S)
        pipe.execute()

    def forget_event(self, event_id: str) -> None:
        """Let a handled event id be processed again (dead-letter replay)."""
        self._redis.delete(self._handled_key(event_id))
