"""The budget in Redis: one Lua script per call, timed by the server's clock.

Keys, per location, all with expiries: ``worker.keys.ratelimit_keys``.
The scripts (``*.lua`` next to this module) state the algorithm.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.typing import EncodableT

from clients.http_policy import RateLimitHeaders
from toky_ghl.settings import Settings
from worker.keys import ratelimit_keys
from worker.ratelimit.base import BudgetSnapshot, Grant, Limits

_HERE = Path(__file__).parent


#: Each script: the prelude, then its parts (``finish`` = release, then observe).
_OBSERVE_READS = ("local off = 3\nlocal observed_limits = effective_limits\n"
                  "local known_used, known_day = nil, nil\n")
# finish: the limits the acquire answered, ARGV[10..14], and the day's count after it
# and its day, ARGV[15..16] (no second read of them)
_FINISH_KNOWS = """local off = 4
local function observed_limits()
  return tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), ARGV[13] == '1',
         tonumber(ARGV[14])
end
local known_used, known_day = tonumber(ARGV[15]), tonumber(ARGV[16])
"""
_PARTS = {
    "acquire": ("acquire.lua",),
    "release": ("release.lua", "return 1\n"),
    "observe": (_OBSERVE_READS, "observe.lua"),
    "finish": ("release.lua", _FINISH_KNOWS, "observe.lua"),
    "finish_reading": ("release.lua", _OBSERVE_READS.replace("3", "4"), "observe.lua"),
    "snapshot": ("snapshot.lua",),
}


@cache
def _source(name: str) -> str:
    parts = [(_HERE / p).read_text() if p.endswith(".lua") else p for p in _PARTS[name]]
    return (_HERE / "common.lua").read_text() + "".join(parts)


class RedisBackend:
    """``client``: a redis-py (or fakeredis) client, Redis 5 or newer.

    ``prefix``: the first part of every key (the settings' ``key_prefix``).
    """

    def __init__(self, client: redis.Redis, prefix: str = Settings.key_prefix):
        self.client = client
        self.prefix = prefix
        self._scripts = {
            name: client.register_script(_source(name))
            for name in _PARTS
        }

    def keys(self, location_id: str) -> list[str]:
        """The window, daily and limits keys of ``location_id``, in the scripts' order."""
        return ratelimit_keys(self.prefix, location_id)

    def _run(self, name: str, location_id: str, limits: Limits, *extra: EncodableT) -> Any:
        args: list[EncodableT] = [limits.max_requests, limits.interval_ms, limits.daily_max, *extra]
        return self._scripts[name](keys=self.keys(location_id), args=args)

    def acquire(self, location_id: str, slot_id: str, limits: Limits, lease_ms: int) -> Grant:
        ok, wait_ms, reason, *known = self._run("acquire", location_id, limits, slot_id,
                                                lease_ms)
        if ok:
            return Grant(True, 0, location_id, slot_id, None,
                         known_limits=tuple(int(v) for v in known) or None)
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        return Grant(False, int(wait_ms), location_id, None, reason)

    def release(self, location_id: str, slot_id: str, limits: Limits) -> None:
        self._run("release", location_id, limits, slot_id)

    def observe(self, location_id: str, seen: RateLimitHeaders, limits: Limits) -> None:
        self._run("observe", location_id, limits, *_header_args(seen))

    def finish(self, location_id: str, slot_id: str, seen: RateLimitHeaders,
               limits: Limits, known_limits: tuple[int, ...] | None = None) -> None:
        """``release`` then ``observe``, in one script (one round trip per answer);
        ``known_limits``: what the acquire answered (the limits are then not read again)."""
        if known_limits:
            self._run("finish", location_id, limits, slot_id, *_header_args(seen),
                      *known_limits)
        else:
            self._run("finish_reading", location_id, limits, slot_id, *_header_args(seen))

    def snapshot(self, location_id: str, limits: Limits) -> BudgetSnapshot:
        max_requests, interval_ms, used, daily_max, daily_used = (
            int(v) for v in self._run("snapshot", location_id, limits)
        )
        return BudgetSnapshot.from_counts(
            Limits(max_requests, interval_ms, daily_max), used, daily_used
        )


def _header_args(seen: RateLimitHeaders) -> tuple[EncodableT, ...]:
    values = (seen.max_requests, seen.remaining, seen.interval_ms, seen.daily_limit,
              seen.daily_remaining)
    return tuple("" if v is None else v for v in values)
