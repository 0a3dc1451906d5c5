"""The limiter every worker shares: Redis-backed, sized from the settings.

Apart from ``base`` (the value types and the facade) so that ``base`` and
``redis_backend`` do not import each other.
"""

from __future__ import annotations

import redis

from toky_ghl.settings import Settings
from worker.ratelimit.base import DEFAULT_LEASE_MS, Limits, RateLimiter
from worker.ratelimit.redis_backend import RedisBackend


def shared_limiter(settings: Settings, redis_client: redis.Redis) -> RateLimiter:
    """The deployment's limiter over ``redis_client``, under the settings' key prefix.

    The lease is at least twice the request timeouts (and at least 60 s).
    """
    timeouts_ms = (settings.ghl_connect_timeout_s + settings.ghl_read_timeout_s) * 1000
    return RateLimiter(
        RedisBackend(redis_client, prefix=settings.key_prefix),
        Limits.from_settings(settings),
        lease_ms=max(DEFAULT_LEASE_MS, int(2 * timeouts_ms)),
    )
