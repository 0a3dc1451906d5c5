"""``TokenProvider``: the GHL client's token source, refreshing and reacting to 401s.

Every call reads the stored version and the pause in ONE Redis command; the
decrypted credentials are cached in the process until the version changes, so
a rotated, refreshed or newly logged-in token is used from the very next call.
An OAuth access token is refreshed ``margin_s`` seconds before it expires, and
once after a 401, under the store's lock: exactly one process refreshes, the
others wait for the lock, see the new version and use the new pair.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import redis
from redis.lock import Lock

from toky_ghl.logs import get_logger
from worker.auth.errors import (
    AuthUnavailable,
    CredentialsRefused,
    LocationPaused,
    SaveRefused,
    UndecryptableCredentials,
)
from worker.auth.oauth import OAuthClient, TokenGrant
from worker.auth.pause import Pause
from worker.auth.record import OAUTH, Credentials
from worker.auth.store import PAUSE_FIELD, TokenStore

log = get_logger("toky_ghl.auth")
_used = threading.local()


def used_version() -> str | None:
    """The version label of the credentials this thread sent last (None: none yet)."""
    return getattr(_used, "version", None)


def env_label(token: str | None) -> str:
    """The version label of a ``GHL_TOKEN`` used as is (a short digest, not the token)."""
    return "env-" + hashlib.sha256(token.encode()).hexdigest()[:12] if token else "none"


def from_grant(grant: TokenGrant, *, now_s: float, source: str, location_id: str | None,
               after_401: bool = False, refreshed: bool = False) -> Credentials:
    """OAuth credentials from a ``/oauth/token`` answer received at ``now_s``."""
    return Credentials(kind=OAUTH, access_token=grant.access_token,
                       refresh_token=grant.refresh_token,
                       expires_at_s=now_s + grant.expires_in_s, scopes=grant.scopes,
                       location_id=grant.location_id or location_id, source=source,
                       refreshed_at_s=now_s if refreshed else None, after_401=after_401)


class TokenProvider:
    """Zero-argument callable answering the current access token of one location.

    ``env_token``: ``GHL_TOKEN``, used while nothing is stored. ``oauth``: the
    token endpoint client (None: stored OAuth credentials cannot be refreshed).
    ``margin_s``: refresh that long before expiry. ``lock_ttl_s``: the longest a
    refresh may hold the lock; ``lock_wait_s``: the longest a caller waits for it.
    """

    def __init__(self, *, store: TokenStore, oauth: OAuthClient | None, env_token: str | None,
                 margin_s: float = 30.0, lock_ttl_s: float = 60.0, lock_wait_s: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.oauth = oauth
        self._env_token = env_token
        self._env_label = env_label(env_token)  # (a digest: once, not per call)
        self.margin_s = margin_s
        self.lock_ttl_s = lock_ttl_s
        self.lock_wait_s = lock_wait_s
        self.clock = clock
        self._cache: Credentials | None = None
        self._refreshing = threading.Lock()

    @property
    def location_id(self) -> str:
        return self.store.location_id

    def _label(self, version: int | None) -> str:
        return f"v{version}" if version is not None else self._env_label

    def prime(self, version: int | None, pause: Pause | None) -> None:
        """Let this thread's NEXT token lookup use a probe just read (by the delivery's
        first script, a moment before its first GHL call) instead of reading it again."""
        _used.primed = (self, version, pause)

    def unprime(self) -> None:
        _used.primed = None

    def _probe(self) -> tuple[int | None, Pause | None]:
        primed = getattr(_used, "primed", None)
        if primed is not None:
            _used.primed = None
            if primed[0] is self:
                return primed[1], primed[2]
        return self.store.probe()

    def __call__(self) -> str:
        version, pause = self._probe()
        label = self._label(version)
        if pause and pause.holds_for(label):
            raise LocationPaused(self.location_id, pause.reason)
        if version is None:
            if not self._env_token:
                raise AuthUnavailable("no GHL credentials: set GHL_TOKEN, run `toky-ghl auth "
                                      "rotate`, or `toky-ghl auth login` for OAuth")
            token = self._env_token
        else:
            creds = self._current(version)
            if creds.needs_refresh(self.clock(), self.margin_s):
                creds = self.refresh(creds.version)
            token, label = creds.access_token or "", f"v{creds.version}"
        _used.version = label
        return token

    def check_not_paused(self) -> None:
        """Raise ``LocationPaused`` while a pause holds for the current credentials."""
        self.check_probed(*self.store.probe())

    def check_probed(self, version: int | None, pause: Pause | None) -> None:
        """``check_not_paused`` over a probe already read (``TokenStore.probe``'s answer,
        e.g. read by the delivery's first script)."""
        if pause and pause.holds_for(self._label(version)):
            raise LocationPaused(self.location_id, pause.reason)

    def probe_keys(self) -> tuple[str, str]:
        """What a probe reads: the credentials' summary hash and its pause field (with
        ``version``, one ``HMGET``: ``TokenStore.probe``)."""
        return self.store.meta_key, PAUSE_FIELD

    def current(self) -> Credentials | None:
        """The stored credentials (cached while their version holds); None when none."""
        version, _ = self.store.probe()
        return None if version is None else self._current(version)

    def _current(self, version: int) -> Credentials:
        cached = self._cache
        if cached is not None and cached.version == version:
            return cached
        try:
            creds = self.store.load()
        except UndecryptableCredentials as exc:
            raise AuthUnavailable(str(exc)) from None
        if creds is None:
            raise AuthUnavailable("the stored GHL credentials vanished while being read")
        self._cache = creds
        return creds

    def refresh(self, seen_version: int, *, after_401: bool = False) -> Credentials:
        """New OAuth credentials replacing version ``seen_version``, unless another thread or
        process replaced it already (then those are answered). Pauses and raises
        ``CredentialsRefused`` when GHL refuses the refresh."""
        if self.oauth is None:
            raise AuthUnavailable("stored OAuth credentials need refreshing, but GHL_CLIENT_ID "
                                  "and GHL_CLIENT_SECRET are not set for this worker")
        with self._refreshing:  # this process's threads queue here, not on Redis
            latest = self.current()
            if latest is None or latest.version != seen_version or latest.kind != OAUTH:
                return latest or self._gone()
            with self._store_lock() as lock:
                return self._refresh_locked(seen_version, after_401, lock)

    @contextmanager
    def _store_lock(self) -> Iterator[Lock]:
        """Hold the store's lock (every credential write holds it too)."""
        lock = self.store.lock(ttl_s=self.lock_ttl_s, wait_s=self.lock_wait_s)
        if not lock.acquire():
            raise AuthUnavailable(f"the credentials lock was held over {self.lock_wait_s} s")
        try:
            yield lock
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("auth.lock_expired", location=self.location_id,
                            lock_ttl_s=self.lock_ttl_s)

    def _refresh_locked(self, seen_version: int, after_401: bool, lock: Lock) -> Credentials:
        assert self.oauth is not None  # (refresh() checked it)
        self._cache = None  # read what is stored now, not what this process saw
        creds = self.current() or self._gone()
        if creds.version != seen_version or creds.kind != OAUTH:
            return creds  # another process refreshed (or someone rotated) meanwhile
        self.check_not_paused()  # the lock holder before us was refused: do not ask again
        asked_at_s = self.clock()  # expiry counted from the question: never later than GHL's
        try:
            grant = self.oauth.refresh(creds.refresh_token or "")
        except CredentialsRefused as exc:
            self._refused(f"v{creds.version}", f"{exc.message}; check GHL_CLIENT_ID and "
                          "GHL_CLIENT_SECRET, or authorise again with `toky-ghl auth login`")
        try:  # only while this refresh still holds the lock and replaces what it read
            new = self.store.save(
                from_grant(grant, now_s=asked_at_s, source="refresh", refreshed=True,
                           location_id=creds.location_id, after_401=after_401),
                lock=lock, expected_version=seen_version)
        except SaveRefused as exc:
            log.warning("auth.refresh_not_saved", location=self.location_id,
                        version=seen_version, reason=exc.message, lock_ttl_s=self.lock_ttl_s)
            raise
        self._cache = new
        log.info("auth.refreshed", location=self.location_id, version=new.version,
                 expires_in_s=round(grant.expires_in_s), after_401=after_401)
        return new

    def after_unauthorized(self, message: str, used: str | None = None) -> str:
        """React to GHL answering 401 (``message``) to a call made with the credentials
        ``used`` (a version label; None: those this thread sent last).

        Returns what changed, so the call is retried now: newer credentials were
        stored meanwhile, or the OAuth token was refreshed. Otherwise the 401
        persists: the location is paused and ``CredentialsRefused`` raised
        (``LocationPaused`` when another call paused it first).
        """
        used = used or used_version()
        version, pause = self.store.probe()
        label = self._label(version)
        if pause and pause.holds_for(label):
            raise LocationPaused(self.location_id, pause.reason)
        if used is not None and used != label:
            return f"the credentials changed since ({used} -> {label})"
        creds = None if version is None else self._current(version)
        expiring = creds is not None and creds.needs_refresh(self.clock(), self.margin_s)
        if creds is not None and creds.kind == OAUTH and (expiring or not creds.after_401):
            # (a token that expired while the call was on its way only needs its refresh)
            new = self.refresh(creds.version, after_401=not expiring)
            return f"refreshed the OAuth token (v{creds.version} -> v{new.version})"
        if creds is not None and creds.kind == OAUTH:
            what = "the OAuth token even after a refresh"
        elif creds is not None:
            what = "the rotated Private Integration Token (rotate again: `toky-ghl auth rotate`)"
        else:
            what = "GHL_TOKEN (rotate it: `toky-ghl auth rotate`)"
        with self._store_lock():  # no write slips in between the verdict and the pause
            now = self._label(self.store.probe()[0])
            if now != label:
                return f"the credentials changed since ({label} -> {now})"
            self._refused(label, f"GHL refused {what}: {message}")

    def _refused(self, label: str, reason: str) -> NoReturn:
        """Pause for ``label`` and raise ``CredentialsRefused``; ``LocationPaused`` instead
        when a pause for the same credentials was set by another call first."""
        if not self.store.pause(Pause(reason, label, self.clock())):
            raise LocationPaused(self.location_id, reason)
        log.error("auth.paused", location=self.location_id, reason=reason)
        raise CredentialsRefused(f"{reason}; sending to location {self.location_id} is paused "
                                 "until the credentials change")

    def _gone(self) -> NoReturn:
        raise AuthUnavailable("the stored GHL credentials vanished while refreshing")
