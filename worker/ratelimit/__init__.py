"""The GHL rate limiter: one budget per location, shared by every worker.

Usage: ``grant = limiter.acquire(location_id)``; when ``grant.ok`` send the
request, then ``limiter.finish(grant, response.headers)`` (release and observe
in one call), or ``limiter.release(grant)`` when no answer came; otherwise wait
``grant.wait_ms`` (or re-schedule). Workers use ``PooledLimiter`` (``pool``):
slots leased in batches per process, its finishes applied with its next call.
"""

from worker.ratelimit.base import Backend, BudgetSnapshot, Grant, Limits, RateLimiter
from worker.ratelimit.memory_backend import MemoryBackend
from worker.ratelimit.pool import PooledLimiter
from worker.ratelimit.redis_backend import RedisBackend

__all__ = [
    "Backend",
    "BudgetSnapshot",
    "Grant",
    "Limits",
    "MemoryBackend",
    "PooledLimiter",
    "RateLimiter",
    "RedisBackend",
]
