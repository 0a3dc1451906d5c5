"""``TokenStore``: one location's credentials in Redis, encrypted at rest.

Keys: ``worker.keys.auth_keys`` (the Fernet blob, the plain summary, the lock, the
pause). The pause record is also kept in the summary's hash (field ``pause``, left
out of ``summary``), so a probe (version and pause) is ONE read of one key: every
delivery probes (``worker.delivery``'s begin script). Every write of the pause
writes both; every lift deletes both. A pause stored by a version that wrote only
the record is seen by the first call that GHL refuses (``pause`` finds it and copies
it into the hash): one refused request, then nothing is sent. The summary holds
version, kind, expiry, scopes, refresh count (no secret; after ``forget``, only
``forgotten_version``, so the next write still gets a new version number). Every
write happens under ``lock()`` and replaces blob and summary in ONE transaction, so
the new pair is stored before the old one is gone, and a reader never sees half of
a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import redis
from redis.lock import Lock

from toky_ghl.logs import register_secrets
from toky_ghl.redis_conn import HashFields, text
from worker.auth.crypto import KEY_VARIABLE, TokenCipher
from worker.auth.errors import SaveRefused, UndecryptableCredentials
from worker.auth.pause import Pause
from worker.auth.record import Credentials
from worker.keys import auth_keys

#: ``TokenStore.save(expected_version=ANY_VERSION)``: whatever version is stored.
ANY_VERSION = object()
#: The summary hash's field holding a copy of the pause record (read with the version).
PAUSE_FIELD = "pause"


def _holds(stored_token: bytes | str | None, lock: Lock) -> bool:
    """True when the lock key holds ``lock``'s own token."""
    mine = getattr(lock.local, "token", None)
    if stored_token is None or mine is None:
        return False
    return _as_bytes(stored_token) == _as_bytes(mine)


def _as_bytes(token: bytes | str) -> bytes:
    return token if isinstance(token, bytes) else str(token).encode()


class TokenStore:
    """Credentials of ``location_id``; ``cipher`` None: summary, probe and pause only."""

    def __init__(self, client: redis.Redis, prefix: str, location_id: str,
                 cipher: TokenCipher | None, *, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.location_id = location_id
        self.cipher = cipher
        self.clock = clock
        self.creds_key, self.meta_key, self.lock_key, self.pause_key = auth_keys(
            prefix, location_id)

    def probe(self) -> tuple[int | None, Pause | None]:
        """The stored version (None: nothing stored) and the pause, in one command."""
        version, pause = self.redis.hmget(self.meta_key, ["version", PAUSE_FIELD])
        return (int(version) if version else None), Pause.from_json(pause)

    def summary(self) -> dict[str, str]:
        """The plain summary (``Credentials.summary`` plus ``refreshes``); {} when none."""
        raw = self.redis.hgetall(self.meta_key)
        return {text(k): text(v) for k, v in raw.items() if text(k) != PAUSE_FIELD}

    def load(self) -> Credentials | None:
        """The stored credentials, decrypted; None when nothing is stored."""
        blob = self.redis.get(self.creds_key)
        if blob is None:
            return None
        if self.cipher is None:
            raise UndecryptableCredentials(
                f"GHL credentials are stored in Redis (by `toky-ghl auth rotate` or `auth login`) "
                f"and encrypted: set {KEY_VARIABLE} to the key they were stored with")
        creds = Credentials.from_dict(self.cipher.decrypt(blob))
        register_secrets([creds.access_token, creds.refresh_token])
        return creds

    def lock(self, *, ttl_s: float, wait_s: float) -> Lock:
        """The lock every credential write (and every refresh) holds; ``ttl_s`` bounds how
        long a dead holder blocks the others, ``wait_s`` how long ``acquire`` waits."""
        return cast(Lock, self.redis.lock(self.lock_key, timeout=ttl_s, blocking_timeout=wait_s))

    def save(self, creds: Credentials, *, lock: Lock | None = None,
             expected_version: int | None | object = ANY_VERSION) -> Credentials:
        """Store ``creds`` as the next version and lift any pause; hold ``lock()``.

        ``lock``: the lock this writer took; the save happens only while it still holds
        it. ``expected_version``: the version this writer replaces (None: nothing stored);
        the save happens only if it is still the stored one. Both are checked in the same
        transaction as the write (WATCH), else ``SaveRefused`` and nothing is written.
        """
        if self.cipher is None:
            raise UndecryptableCredentials(f"{KEY_VARIABLE} must be set to store GHL credentials")
        with self.redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self.meta_key, self.lock_key)
                if lock is not None and not _holds(pipe.get(self.lock_key), lock):
                    raise SaveRefused("the credentials lock was lost before the save (held "
                                      "longer than its time to live): nothing saved")
                current = pipe.hget(self.meta_key, "version")
                current_version = int(current) if current else None
                forgotten = pipe.hget(self.meta_key, "forgotten_version")
                if expected_version is not ANY_VERSION and current_version != expected_version:
                    raise SaveRefused(f"the stored credentials are version {current_version}, "
                                      f"not {expected_version} any more: nothing saved")
                last = current_version or int(forgotten or 0)  # never a version seen before
                stored = creds.with_(version=last + 1,
                                     updated_at_s=self.clock())
                register_secrets([stored.access_token, stored.refresh_token])
                pipe.multi()
                pipe.hdel(self.meta_key, "forgotten_version", PAUSE_FIELD)
                pipe.set(self.creds_key, self.cipher.encrypt(stored.to_dict()))
                pipe.hset(self.meta_key, mapping=cast(HashFields, stored.summary()))
                if stored.source == "refresh":
                    pipe.hincrby(self.meta_key, "refreshes", 1)
                pipe.delete(self.pause_key)
                pipe.execute()
            except redis.WatchError:
                raise SaveRefused("the credentials or their lock changed during the save: "
                                  "nothing saved") from None
        return stored

    def forget(self, *, lock: Lock) -> int | None:
        """Drop the stored credentials and the pause (workers use ``GHL_TOKEN`` from their
        next call); the version forgotten, None when nothing was stored. Hold ``lock()``.
        The version number is kept, so a process caching the old credentials never takes a
        later write for them."""
        with self.redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self.meta_key, self.lock_key)
                if not _holds(pipe.get(self.lock_key), lock):
                    raise SaveRefused("the credentials lock was lost: nothing forgotten")
                current = pipe.hget(self.meta_key, "version")
                if current is None:
                    return None
                pipe.multi()
                pipe.delete(self.creds_key, self.meta_key, self.pause_key)
                pipe.hset(self.meta_key, "forgotten_version", current)
                pipe.execute()
            except redis.WatchError:
                raise SaveRefused("the credentials changed meanwhile: nothing forgotten, "
                                  "try again") from None
        return int(current)

    def pause(self, pause: Pause) -> bool:
        """Set ``pause`` unless one already holds for the same version; True when set here
        (the record and its copy in the summary's hash; an existing record missing
        from the hash, stored by an older version, is copied there)."""
        raw = pause.to_json()
        if self.redis.set(self.pause_key, raw, nx=True):
            self.redis.hset(self.meta_key, PAUSE_FIELD, raw)
            return True
        stored = self.redis.get(self.pause_key)
        existing = Pause.from_json(stored)
        if existing is not None and existing.holds_for(pause.version):
            assert stored is not None  # (a pause was read)
            self.redis.hset(self.meta_key, PAUSE_FIELD, stored)
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.pause_key, raw)
        pipe.hset(self.meta_key, PAUSE_FIELD, raw)
        pipe.execute()
        return True

    def get_pause(self) -> Pause | None:
        return Pause.from_json(self.redis.get(self.pause_key))

    def clear_pause(self) -> bool:
        """Lift the pause (the record and its copy); True when there was one."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.pause_key)
        pipe.hdel(self.meta_key, PAUSE_FIELD)
        deleted, copies = pipe.execute()
        return bool(deleted or copies)
