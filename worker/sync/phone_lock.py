"""Per-phone Redis locks for work that must not run twice at once for one phone.

``phone_lock`` takes a lock of its own (redis-py's ``Lock``: ``SET NX PX`` with a
token, released by a script comparing the token). ``key_lock`` does the same for a
lock named by its key, and when the delivery ALREADY holds that key (its object lock,
``SyncContext.held``) takes nothing: it only makes sure the lock lasts ``ttl_s`` more
(``PEXPIRE`` while the token is still this delivery's, when less is left).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from toky_ghl.redis_scripts import script
from worker.keys import sync_lock_key
from worker.sync.context import HeldLock, SyncContext
from worker.sync.outcome import Deferred

# KEYS[1]: a lock; ARGV[1]: the holder's token, ARGV[2]: its new TTL (ms). 1 when
# extended, 0 when the lock is no longer the holder's (expired, maybe taken since).
_EXTEND_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@contextmanager
def phone_lock(ctx: SyncContext, purpose: str, phone: str, *, ttl_s: float, wait_s: float,
               busy: str) -> Iterator[None]:
    """Hold the ``purpose`` lock of ``phone`` (``ttl_s`` at most: a killed worker's lock
    frees itself). When another worker keeps it longer than ``wait_s``, raise
    ``Deferred(busy)`` with the time the lock has left, so the event waits, uncounted."""
    with key_lock(ctx, sync_lock_key(ctx.settings.key_prefix, purpose, phone), ttl_s=ttl_s,
                  wait_s=wait_s, busy=busy, purpose=purpose):
        yield


@contextmanager
def key_lock(ctx: SyncContext, name: str, *, ttl_s: float, wait_s: float, busy: str,
             purpose: str) -> Iterator[None]:
    """Hold the lock ``name`` for ``ttl_s`` at most, as ``phone_lock``; when the delivery
    holds it already (``ctx.held``), see that it still holds it ``ttl_s`` from now."""
    if ctx.held is not None and ctx.held.key == name:
        keep_held(ctx, ctx.held, ttl_s)
        yield
        return
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


def keep_held(ctx: SyncContext, held: HeldLock, ttl_s: float) -> None:
    """Make sure ``held`` lasts ``ttl_s`` more: nothing sent when its TTL leaves that
    much (the usual case: ``worker.pipeline`` takes a contact's lock long enough), else
    one script extends it; ``Deferred`` (retry at once) when it was lost meanwhile."""
    now_s = time.monotonic()
    if held.until_s - now_s >= ttl_s:
        return
    extend = script(ctx.redis, _EXTEND_LUA)
    if not extend(keys=[held.key], args=[held.token, int(ttl_s * 1000)]):
        raise Deferred("this delivery's lock on the object expired before its work was done",
                       retry_after_ms=100)
    held.until_s = now_s + ttl_s
