"""A per-phone Redis lock for work that must not run twice at once for one phone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from worker.keys import sync_lock_key
from worker.sync.context import SyncContext
from worker.sync.outcome import Deferred


@contextmanager
def phone_lock(ctx: SyncContext, purpose: str, phone: str, *, ttl_s: float, wait_s: float,
               busy: str) -> Iterator[None]:
    """Hold the ``purpose`` lock of ``phone`` (``ttl_s`` at most: a killed worker's lock
    frees itself). When another worker keeps it longer than ``wait_s``, raise
    ``Deferred(busy)`` with the time the lock has left, so the event waits, uncounted."""
    name = sync_lock_key(ctx.settings.key_prefix, purpose, phone)
    lock = ctx.redis.lock(name, timeout=ttl_s, blocking_timeout=wait_s)
    if not lock.acquire():
        left_ms = ctx.redis.pttl(name)
        raise Deferred(busy, retry_after_ms=max(100, left_ms if left_ms > 0 else 100))
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            ctx.log.warning("phone lock expired before release", purpose=purpose,
                            lock_ttl_s=ttl_s)
