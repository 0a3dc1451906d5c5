"""What the ``toky-ghl auth`` commands change: store a rotated PIT, log in with a code,
lift a pause, forget the stored credentials. Every write holds the store's lock, so it
never races a refresh."""

from __future__ import annotations

import time

import redis

from toky_ghl.errors import ConfigError
from toky_ghl.logs import get_logger, register_secrets
from toky_ghl.settings import Settings
from worker.auth.bootstrap import lock_ttl_s, make_store
from worker.auth.oauth import OAuthClient, TokenGrant
from worker.auth.provider import from_grant
from worker.auth.record import PIT, Credentials
from worker.auth.store import TokenStore

log = get_logger("toky_ghl.auth")


def _save_locked(store: TokenStore, creds: Credentials, settings: Settings) -> Credentials:
    ttl_s = lock_ttl_s(settings)
    lock = store.lock(ttl_s=ttl_s, wait_s=ttl_s)
    if not lock.acquire():
        raise ConfigError(f"the credentials lock stayed taken for {ttl_s:.0f} s; try again")
    try:
        return store.save(creds, lock=lock)
    finally:
        lock.release()


def rotate_pit(settings: Settings, client: redis.Redis, token: str) -> Credentials:
    """Store ``token`` as the location's Private Integration Token (used from the next call
    of every worker); replaces any stored credentials and lifts a pause."""
    token = token.strip()
    if not token or any(ch.isspace() for ch in token):
        raise ConfigError("the token read from standard input is empty or holds spaces")
    register_secrets([token])
    store = make_store(settings, client, require_key_because="a rotated token is kept in "
                       "Redis, encrypted")
    creds = _save_locked(store, Credentials(kind=PIT, access_token=token,
                                            location_id=store.location_id, source="rotate"),
                         settings)
    log.info("auth.rotated", location=store.location_id, version=creds.version)
    return creds


def login(settings: Settings, client: redis.Redis, code: str) -> Credentials:
    """Exchange the consent's ``code`` for a token pair and store it (version +1)."""
    settings.require("GHL_CLIENT_ID", "GHL_CLIENT_SECRET", "GHL_LOCATION_ID")
    store = make_store(settings, client, require_key_because="OAuth tokens are kept in "
                       "Redis, encrypted")  # checked before the single-use code is spent
    asked_at_s = time.time()  # expiry counted from the question: never later than GHL's
    grant: TokenGrant = OAuthClient.from_settings(settings).exchange_code(
        code.strip(), redirect_uri=settings.ghl_oauth_redirect_uri)
    if grant.location_id and grant.location_id != store.location_id:
        raise ConfigError(f"the consent was given for location {grant.location_id}, but "
                          f"GHL_LOCATION_ID is {store.location_id}: nothing stored")
    creds = _save_locked(store, from_grant(grant, now_s=asked_at_s, source="login",
                                           location_id=store.location_id), settings)
    log.info("auth.logged_in", location=store.location_id, version=creds.version)
    return creds


def forget(settings: Settings, client: redis.Redis) -> int | None:
    """Drop the credentials stored by ``auth rotate`` / ``auth login`` (and the pause):
    workers use ``GHL_TOKEN`` from their next call. The version forgotten, or None."""
    store = make_store(settings, client)
    ttl_s = lock_ttl_s(settings)
    lock = store.lock(ttl_s=ttl_s, wait_s=ttl_s)
    if not lock.acquire():
        raise ConfigError(f"the credentials lock stayed taken for {ttl_s:.0f} s; try again")
    try:
        version = store.forget(lock=lock)
    finally:
        lock.release()
    if version is not None:
        log.info("auth.forgotten", location=store.location_id, version=version)
    return version


def resume(settings: Settings, client: redis.Redis) -> bool:
    """Lift the pause of the location by hand; True when it was paused."""
    return make_store(settings, client).clear_pause()
