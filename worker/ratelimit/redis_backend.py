"""The budget in Redis: one Lua script, ``sync.lua``, timed by the server's clock.

Keys, per location, all with expiries: ``worker.keys.ratelimit_keys``.
The script (``common.lua``, its prelude, then ``sync.lua``) states the algorithm:
every call of this backend (acquire, release, finish, observe, snapshot, and the
batched ``sync`` of ``worker.ratelimit.pool``) is one run of it, one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import redis
from redis.typing import EncodableT

from clients.http_policy import RateLimitHeaders
from toky_ghl.settings import Settings
from worker.keys import ratelimit_keys
from worker.ratelimit.base import NO_HEADERS, BudgetSnapshot, Grant, Limits, Synced

_HERE = Path(__file__).parent


@cache
def _source() -> str:
    return (_HERE / "common.lua").read_text() + (_HERE / "sync.lua").read_text()


class RedisBackend:
    """``client``: a redis-py (or fakeredis) client, Redis 6.2 or newer (ZADD LT).

    ``prefix``: the first part of every key (the settings' ``key_prefix``).
    """

    def __init__(self, client: redis.Redis, prefix: str = Settings.key_prefix):
        self.client = client
        self.prefix = prefix
        # redis-py's Script: EVALSHA, loaded again on NOSCRIPT
        self._script = client.register_script(_source())

    def keys(self, location_id: str) -> list[str]:
        """The window, daily and limits keys of ``location_id``, in the script's order."""
        return ratelimit_keys(self.prefix, location_id)

    def sync(self, location_id: str, limits: Limits, *, lease_ms: int = 0, want: int = 0,
             batch_id: str = "", finishes: Sequence[tuple[str, int]] = (),
             returns: Sequence[tuple[str, int]] = (), seen: RateLimitHeaders = NO_HEADERS,
             seen_ago_ms: int = 0, report: bool = False) -> Synced:
        """See ``SyncBackend.sync``; one run of ``sync.lua``."""
        if want > 0 and not batch_id:
            raise ValueError("a lease needs a batch id")
        args: list[EncodableT] = [limits.max_requests, limits.interval_ms, limits.daily_max,
                                  lease_ms, want, batch_id, *_header_args(seen),
                                  "1" if report else "0", max(0, int(seen_ago_ms)),
                                  len(finishes)]
        for slot_id, ago_ms in finishes:
            args += [slot_id, max(0, int(ago_ms))]
        args.append(len(returns))
        for slot_id, day in returns:
            args += [slot_id, day]
        granted, wait_ms, reason, max_requests, interval_ms, daily_max, day, in_window, used = (
            self._script(keys=self.keys(location_id), args=args))
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        effective = (Limits(int(max_requests), int(interval_ms), int(daily_max))
                     if int(max_requests) > 0 else None)
        return Synced(tuple(f"{batch_id}:{i}" for i in range(1, int(granted) + 1)),
                      int(wait_ms), reason or None, effective, int(day), int(in_window),
                      int(used))

    def acquire(self, location_id: str, slot_id: str, limits: Limits, lease_ms: int) -> Grant:
        """One slot (its id is ``slot_id`` + ``:1``)."""
        synced = self.sync(location_id, limits, lease_ms=lease_ms, want=1, batch_id=slot_id)
        if synced.slots:
            return Grant(True, 0, location_id, synced.slots[0], None)
        return Grant(False, synced.wait_ms, location_id, None, synced.reason)

    def release(self, location_id: str, slot_id: str, limits: Limits) -> None:
        self.sync(location_id, limits, finishes=[(slot_id, 0)])

    def observe(self, location_id: str, seen: RateLimitHeaders, limits: Limits) -> None:
        self.sync(location_id, limits, seen=seen)

    def finish(self, location_id: str, slot_id: str, seen: RateLimitHeaders,
               limits: Limits, known_limits: tuple[int, ...] | None = None) -> None:
        """``release`` then ``observe``, in one script (one round trip per answer)."""
        self.sync(location_id, limits, finishes=[(slot_id, 0)], seen=seen)

    def snapshot(self, location_id: str, limits: Limits) -> BudgetSnapshot:
        synced = self.sync(location_id, limits, report=True)
        assert synced.limits is not None  # (a report reads them)
        return BudgetSnapshot.from_counts(synced.limits, synced.used_in_window,
                                          synced.daily_used)


def _header_args(seen: RateLimitHeaders) -> tuple[EncodableT, ...]:
    values = (seen.max_requests, seen.remaining, seen.interval_ms, seen.daily_limit,
              seen.daily_remaining)
    return tuple("" if v is None else v for v in values)
