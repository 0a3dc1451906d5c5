"""Read-only views of the delay store for ``toky-ghl status`` and the metrics exporter.

Plain functions over a ``redis.Redis`` and the key prefix; keys are documented
in ``worker.keys``. Nothing here writes.
"""

from __future__ import annotations

from typing import Any, cast

import redis

from toky_ghl.redis_conn import Scored
from worker.delay.reasons import ParkReason
from worker.keys import delay_due_key, delay_locations_key, delay_reasons_key, delay_since_key


def parked_locations(client: redis.Redis, prefix: str) -> list[str]:
    """The locations that have (or had) parked events, sorted."""
    return sorted(m.decode() if isinstance(m, bytes) else m
                  for m in client.smembers(delay_locations_key(prefix)))


def parked_by_reason(client: redis.Redis, prefix: str, location: str) -> dict[str, int]:
    """``{reason: count}`` of ``location``'s parked events, every reason present (0 if none)."""
    raw = client.hgetall(delay_reasons_key(prefix, location))
    counts = {r.value: 0 for r in ParkReason}
    for reason, n in raw.items():
        name = reason.decode() if isinstance(reason, bytes) else reason
        counts[name] = max(0, int(n))
    return counts


def parked_total(client: redis.Redis, prefix: str, location: str) -> int:
    """How many events of ``location`` are parked."""
    return int(client.zcard(delay_due_key(prefix, location)))


def oldest_parked_age_s(client: redis.Redis, prefix: str, location: str,
                        now_ms: int) -> float | None:
    """Seconds since the longest-waiting parked event of ``location`` was first parked,
    or None when nothing is parked. ``now_ms``: epoch ms (``server_now_ms`` for Redis's clock)."""
    first = cast(Scored, client.zrange(delay_since_key(prefix, location), 0, 0, withscores=True))
    if not first:
        return None
    return max(0.0, (now_ms - first[0][1]) / 1000)


def next_due_ms(client: redis.Redis, prefix: str, location: str) -> int | None:
    """The earliest due time among ``location``'s parked events (epoch ms), or None."""
    first = client.zrange(delay_due_key(prefix, location), 0, 0, withscores=True)
    return int(first[0][1]) if first else None


def server_now_ms(client: redis.Redis) -> int:
    """The Redis server's clock, epoch ms (the clock the delay store and circuit use)."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def parked_report(client: redis.Redis, prefix: str) -> dict[str, dict[str, Any]]:
    """Per location: ``{"total", "by_reason": {reason: n}, "oldest_age_s", "next_due_ms"}``."""
    now_ms = server_now_ms(client)
    return {
        location: {
            "total": parked_total(client, prefix, location),
            "by_reason": parked_by_reason(client, prefix, location),
            "oldest_age_s": oldest_parked_age_s(client, prefix, location, now_ms),
            "next_due_ms": next_due_ms(client, prefix, location),
        }
        for location in parked_locations(client, prefix)
    }
