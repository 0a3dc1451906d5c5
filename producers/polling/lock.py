"""One poller at a time: a Redis lock with an expiry, renewed while its holder lives.

The key ``<prefix>:poller:lock`` holds JSON naming the holder (``pid``, ``host``,
``since``, and a random ``token``). It expires ``ttl_s`` seconds after its last
renewal, so a poller killed with SIGKILL blocks the next one for at most
``ttl_s``. Renewal and release compare the token first (in Lua), so a holder
whose lock expired can never extend or delete its successor's.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis

from toky_ghl.logs import get_logger

log = get_logger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LockLost(RuntimeError):
    """The lock expired or was taken while we polled: stop and wait for it again."""


class PollerLock:
    """The poller's lock. ``ttl_s``: expiry in seconds; renewed every ``ttl_s / 3``."""

    def __init__(self, redis_client: redis.Redis, key: str, *, ttl_s: int = 60) -> None:
        if ttl_s < 1:
            raise ValueError(f"ttl_s must be at least 1, got {ttl_s}")
        self.redis = redis_client
        self.key = key
        self.ttl_s = ttl_s
        self.value = json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "token": secrets.token_hex(8),
        })
        self._renew = redis_client.register_script(_RENEW)
        self._release = redis_client.register_script(_RELEASE)
        self.lost = threading.Event()

    def acquire(self) -> bool:
        """Take the lock if free; True when we hold it now."""
        taken = bool(self.redis.set(self.key, self.value, nx=True, ex=self.ttl_s))
        if taken:
            self.lost.clear()
        return taken

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock (pid, host, since), or None when it is free."""
        raw = self.redis.get(self.key)
        if raw is None:
            return None
        try:
            info = json.loads(raw)
        except ValueError:
            return {"pid": "?", "host": "?", "since": "?"}
        return {k: info.get(k, "?") for k in ("pid", "host", "since")}

    def renew(self) -> bool:
        """Push the expiry back to ``ttl_s``; False (and ``lost`` set) if no longer ours."""
        ok = bool(self._renew(keys=[self.key], args=[self.value, self.ttl_s]))
        if not ok:
            self.lost.set()
        return ok

    def release(self) -> None:
        """Delete the lock if it is still ours."""
        self._release(keys=[self.key], args=[self.value])

    def check(self) -> None:
        """Raise ``LockLost`` when a renewal found the lock gone."""
        if self.lost.is_set():
            raise LockLost("the poller lock expired or was taken by another poller")

    @contextmanager
    def renewing(self) -> Iterator[PollerLock]:
        """Renew in a daemon thread until the block ends, then release."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.ttl_s / 3):
                try:
                    if not self.renew():
                        log.error("poller.lock_lost", key=self.key)
                        return
                except Exception as exc:  # Redis down: keep trying until the TTL decides
                    log.warning("poller.lock_renew_failed", error=str(exc))

        thread = threading.Thread(target=loop, name="poller-lock", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)
            try:
                self.release()
            except Exception as exc:  # the lock expires by itself
                log.warning("poller.lock_release_failed", error=str(exc))
