"""The limiter every worker shares: Redis-backed, sized from the settings.

Apart from ``base`` (the value types and the facade) so that ``base`` and
``redis_backend`` do not import each other.
"""

from __future__ import annotations

import redis

from toky_ghl.settings import Settings
from worker.ratelimit.base import DEFAULT_LEASE_MS, Limits
from worker.ratelimit.pool import PooledLimiter
from worker.ratelimit.redis_backend import RedisBackend


def shared_limiter(settings: Settings, redis_client: redis.Redis) -> PooledLimiter:
    """The deployment's limiter over ``redis_client``, under the settings' key prefix:
    slots leased in batches of up to ``GHL_RATE_LIMIT_BATCH`` (``worker.ratelimit.pool``).

    The lease is at least twice the request timeouts (and at least 60 s).
    """
    timeouts_ms = (settings.ghl_connect_timeout_s + settings.ghl_read_timeout_s) * 1000
    return PooledLimiter(
        RedisBackend(redis_client, prefix=settings.key_prefix),
        Limits.from_settings(settings),
        lease_ms=max(DEFAULT_LEASE_MS, int(2 * timeouts_ms)),
        batch_max=settings.ghl_rate_limit_batch,
    )
