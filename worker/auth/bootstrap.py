"""Build the token provider of a worker process from the settings, failing fast.

Which credentials are used: whatever ``toky-ghl auth rotate`` / ``auth login``
stored in Redis (the newest wins, from the next call on); while nothing is
stored, ``GHL_REFRESH_TOKEN`` (with ``GHL_CLIENT_ID`` and ``GHL_CLIENT_SECRET``)
is stored once as the start of the OAuth chain, else ``GHL_TOKEN`` is used as
is (no key needed then: nothing is stored).
"""

from __future__ import annotations

from dataclasses import replace

import redis

from toky_ghl.errors import ConfigError
from toky_ghl.logs import get_logger, register_secrets
from toky_ghl.settings import Settings
from worker.auth.crypto import TokenCipher
from worker.auth.errors import NO_CREDENTIALS, AuthError, CredentialsMissing
from worker.auth.oauth import OAuthClient
from worker.auth.provider import TokenProvider
from worker.auth.record import OAUTH, Credentials
from worker.auth.store import TokenStore

log = get_logger("toky_ghl.auth")


def lock_ttl_s(settings: Settings) -> float:
    """How long a refresh may hold the lock, in s: its HTTP timeouts plus a margin."""
    return settings.ghl_connect_timeout_s + settings.ghl_read_timeout_s + 15.0


def make_store(settings: Settings, client: redis.Redis, *, location_id: str | None = None,
               require_key_because: str | None = None) -> TokenStore:
    """The store of ``location_id`` (default ``GHL_LOCATION_ID``); the cipher when the key
    is set, and a ConfigError naming ``TOKEN_ENCRYPTION_KEY`` when ``require_key_because``."""
    location = location_id or settings.ghl_location_id
    if not location:
        raise ConfigError("GHL_LOCATION_ID must be set (the sub-account id)")
    if require_key_because:
        cipher: TokenCipher | None = TokenCipher.from_settings(settings, why=require_key_because)
    else:
        cipher = TokenCipher(settings.token_encryption_key) if settings.token_encryption_key \
            else None
    return TokenStore(client, settings.key_prefix, location, cipher)


def make_provider(settings: Settings, client: redis.Redis) -> TokenProvider:
    """A provider over the store, without checks (cheap; see ``build_token_provider``)."""
    oauth = OAuthClient.from_settings(settings) if settings.ghl_client_id else None
    ttl_s = lock_ttl_s(settings)
    return TokenProvider(store=make_store(settings, client), oauth=oauth,
                         env_token=settings.ghl_token, margin_s=settings.ghl_token_refresh_margin_s,
                         lock_ttl_s=ttl_s, lock_wait_s=ttl_s)


def build_token_provider(settings: Settings, client: redis.Redis) -> TokenProvider:
    """The provider of a worker, its credentials checked; ConfigError naming what is wrong."""
    register_secrets([settings.ghl_client_secret, settings.ghl_refresh_token,
                      settings.token_encryption_key])
    if settings.ghl_client_id:
        make_store(settings, client, require_key_because="OAuth tokens are kept in Redis, "
                   "encrypted")
    provider = make_provider(settings, client)
    version, _ = provider.store.probe()
    if version is None and settings.ghl_refresh_token:
        _seed_refresh_token(provider, settings.ghl_refresh_token)
        version, _ = provider.store.probe()
    if version is None:
        if not settings.ghl_token:
            raise CredentialsMissing(NO_CREDENTIALS)
        return provider
    creds = provider.store.load()  # no key or a wrong key stops here, by name
    if creds is not None and creds.kind == OAUTH:
        if provider.oauth is None:
            raise ConfigError("OAuth credentials are stored for this location: set GHL_CLIENT_ID "
                              "and GHL_CLIENT_SECRET so that workers can refresh them")
        _refresh_if_due(provider, creds)
    return provider


def _seed_refresh_token(provider: TokenProvider, refresh_token: str) -> None:
    """Store ``GHL_REFRESH_TOKEN`` as the start of the chain, unless something got stored."""
    store = provider.store
    lock = store.lock(ttl_s=provider.lock_ttl_s, wait_s=provider.lock_wait_s)
    if not lock.acquire():
        raise ConfigError("could not take the credentials lock to store GHL_REFRESH_TOKEN")
    try:
        if store.probe()[0] is None:
            store.save(Credentials(kind=OAUTH, refresh_token=refresh_token, expires_at_s=0.0,
                                   location_id=store.location_id, source="GHL_REFRESH_TOKEN"),
                       lock=lock, expected_version=None)
            log.info("auth.seeded", location=store.location_id, source="GHL_REFRESH_TOKEN")
    finally:
        lock.release()


def _refresh_if_due(provider: TokenProvider, creds: Credentials) -> None:
    """Refresh now when due (so the granted scopes are known); a refusal pauses, and the
    worker still starts: events wait, ``toky-ghl status`` says why."""
    if not creds.needs_refresh(provider.clock(), provider.margin_s):
        return
    try:
        provider.check_not_paused()
        provider.refresh(creds.version)
    except AuthError as exc:
        log.error("auth.refresh_failed", location=provider.location_id, error=str(exc))


def with_granted_scopes(settings: Settings, provider: TokenProvider) -> Settings:
    """``settings`` whose ``ghl_scopes`` are the OAuth token's ``scope`` when ``GHL_SCOPES``
    is unset and OAuth credentials with scopes are stored; else ``settings`` unchanged."""
    if settings.ghl_scopes_set:
        return settings
    try:
        creds = provider.current()
    except AuthError:
        return settings
    if creds is None or creds.kind != OAUTH or not creds.scopes:
        return settings
    return replace(settings, ghl_scopes=frozenset(creds.scopes))
