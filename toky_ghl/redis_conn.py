"""The one place that makes Redis connections from ``REDIS_URL``."""

from __future__ import annotations

from functools import lru_cache

import redis

from toky_ghl.settings import get_settings


@lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30, socket_keepalive=True)


def get_redis(url: str | None = None) -> redis.Redis:
    """A shared (pooled, thread-safe) client for ``url`` or the configured ``REDIS_URL``."""
    return _client(url or get_settings().redis_url)


def key(*parts: str) -> str:
    """A Redis key under the configured prefix: ``key("idmap", "x")`` → ``tokyghl:idmap:x``."""
    return ":".join((get_settings().key_prefix, *parts))
