"""What a worker process builds once: Redis, the shared limiter, the GHL client, the field map."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from toky_ghl.redis_conn import get_redis
from toky_ghl.settings import Settings, get_settings

if TYPE_CHECKING:
    from clients.ghl.api import GhlApi
    from clients.toky import TokyClient
    from worker.auth.source import TokenSource
    from worker.fieldmap import FieldMap
    from worker.ratelimit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis
    limiter: RateLimiter
    client: GhlApi
    field_map: FieldMap
    auth: TokenSource | None = None  # the client's token source (a TokenProvider)
    toky: TokyClient | None = None  # the mirror's Toky client (None without TOKY_API_KEY)


_lock = threading.Lock()
_runtime: Runtime | None = None


def build_runtime(settings: Settings, redis_client: redis.Redis | None = None) -> Runtime:
    """Build (and validate) everything; raises ConfigError naming what is wrong."""
    from clients.ghl.client import GhlClient
    from worker.auth.bootstrap import build_token_provider, with_granted_scopes
    from worker.circuit import Circuit
    from worker.custom_field_ids import resolve_custom_field_keys
    from worker.fieldmap import load_field_map
    from worker.ratelimit.shared import shared_limiter
    from worker.rules import active_rules
    from worker.sync.mirror import toky_client

    settings.require("GHL_LOCATION_ID")
    field_map = load_field_map(settings.field_map)
    client_redis = redis_client or get_redis(settings.redis_url)
    # The token comes from Redis (rotated PIT or OAuth pair) or GHL_TOKEN, read on every call.
    auth = build_token_provider(settings, client_redis)
    settings = with_granted_scopes(settings, auth)
    active_rules(settings)  # a bad AUTOMATIONS file stops start-up, naming the rule
    limiter = shared_limiter(settings, client_redis)
    client = GhlClient(
        base_url=settings.ghl_api_base, token=auth, location_id=settings.ghl_location_id,
        scopes=settings.ghl_scopes, limiter=limiter,
        connect_timeout_s=settings.ghl_connect_timeout_s,
        read_timeout_s=settings.ghl_read_timeout_s,
        max_inline_wait_ms=settings.rate_wait_inline_max_ms,
        circuit=Circuit.from_settings(settings, client_redis),
        wire=True,  # a connection per thread: a third of the CPU of requests' (clients/ghl/wire.py)
    )
    # Keys of custom fields → their ids (GHL needs ids): an unknown key stops here.
    resolve_custom_field_keys(field_map, client, client_redis, settings.key_prefix)
    # The mirror's writes to Toky (ghl.contact.* events); without a key they dead-letter.
    toky = toky_client(settings) if settings.toky_api_key else None
    return Runtime(settings, client_redis, limiter, client, field_map, auth, toky)


def get_runtime() -> Runtime:
    """The process's runtime, built on first use (thread-safe)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(get_settings())
        return _runtime


def reset_runtime() -> None:
    """Forget the runtime (tests, or after the settings changed)."""
    global _runtime
    with _lock:
        _runtime = None
