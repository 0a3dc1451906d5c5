"""What each side last received from the other, per phone: the mirror's loop guard.

One entry per phone (``producers.keys.mirror_memory_key``), ``"<direction>:
<fingerprint>"`` (``shared.fingerprint``), overwritten by each write:

- ``toky>ghl``: GHL received this contact from Toky (the worker's Toky → GHL
  sync wrote it). A GHL contact with that fingerprint is toky-ghl's own write
  coming back: the mirror does not copy it to Toky.
- ``ghl>toky``: Toky received this contact from GHL (the mirror wrote it). A
  Toky contact with that fingerprint is the mirror's own write coming back:
  the Toky poller does not queue it for GHL.

One entry per phone, not one per direction: after the mirror writes to Toky,
GHL's state no longer stems from Toky, so an old ``toky>ghl`` fingerprint must
not hide a later GHL edit that happens to restore it (and the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from producers.keys import mirror_memory_key
from toky_ghl.redis_direct import direct

TO_GHL = "toky>ghl"
TO_TOKY = "ghl>toky"
DIRECTIONS = (TO_GHL, TO_TOKY)


def _text(raw: Any) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


class SyncMemory:
    """The ``mirror:last`` hash under ``prefix``."""

    def __init__(self, redis_client: redis.Redis, prefix: str) -> None:
        self.redis = redis_client
        self.key = mirror_memory_key(prefix)

    def record(self, phone: str, direction: str, fingerprint: str) -> None:
        """Remember that the other side of ``direction`` received ``fingerprint`` for ``phone``."""
        # (one per contact a delivery writes: sent without redis-py's per-command layers,
        # ``toky_ghl.redis_direct``)
        direct(self.redis).call(*self.record_command(phone, direction, fingerprint))

    def record_command(self, phone: str, direction: str, fingerprint: str) -> tuple[str, ...]:
        """``record``'s command, for a caller that sends it with its own writes (the id
        map's, ``worker.idmap.IdMap.remember_contact``)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return ("HSET", self.key, phone, f"{direction}:{fingerprint}")

    def last(self, phone: str) -> tuple[str, str] | None:
        """``(direction, fingerprint)`` of the last write for ``phone``, or None."""
        raw = _text(self.redis.hget(self.key, phone))
        if not raw:
            return None
        direction, _, fp = raw.partition(":")
        return direction, fp

    def last_many(self, phones: list[str]) -> dict[str, str | None]:
        """``{phone: "<direction>:<fingerprint>" or None}`` in one round trip."""
        phones = list(dict.fromkeys(phones))
        if not phones:
            return {}
        return {phone: _text(raw)
                for phone, raw in zip(phones, self.redis.hmget(self.key, phones), strict=True)}

    def matching(self, fingerprints: Mapping[str, str], direction: str) -> set[str]:
        """The phones of ``{phone: fingerprint}`` whose last write was ``direction`` with
        that same fingerprint (echoes of our own writes)."""
        stored = self.last_many(list(fingerprints))
        return {phone for phone, fp in fingerprints.items()
                if stored.get(phone) == f"{direction}:{fp}"}

    def is_echo(self, phone: str, direction: str, fingerprint: str) -> bool:
        """True when ``phone``'s last write was ``direction`` with ``fingerprint``."""
        return bool(self.matching({phone: fingerprint}, direction))
