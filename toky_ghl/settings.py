"""One settings object, read once from the environment and validated.

Every environment variable the product reads is declared here and nowhere else
(no ``os.environ`` reads scattered through modules). A bad value raises
``ConfigError`` naming the variable and what it expects; ``toky-ghl`` turns that
into a one-line message and exit status 2.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from urllib.parse import urlparse

from toky_ghl.errors import ConfigError
from toky_ghl.logs import mask_url

KNOWN_SCOPES = frozenset(
    {
        "contacts.readonly",
        "contacts.write",
        "calendars.readonly",
        "calendars.write",
        "calendars/events.readonly",
        "calendars/events.write",
        "locations.readonly",
        "opportunities.readonly",  # apps/opportunities.json (automations)
        "opportunities.write",
        "locations/customFields.readonly",
        "locations/customFields.write",
        "users.readonly",
    }
)

#: Values of CONTACT_EMAIL_CONFLICT (see ``Settings.contact_email_conflict``).
EMAIL_CONFLICT_POLICIES = ("separate", "omit-email")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
            f"got {mask_url(raw)!r}"  # the password never shown
        )
    return raw.rstrip("/") if parsed.scheme.startswith("http") else raw


def _redis_url(env: Mapping[str, str]) -> str:
    """``REDIS_URL``, checked as redis-py reads it; errors show it without its password."""
    import redis

    url = _url(env, "REDIS_URL", "redis://localhost:6379/0", ("redis", "rediss", "unix"))
    try:
        redis.ConnectionPool.from_url(url)
    except (ValueError, TypeError):  # redis-py's own text may quote part of the password
        raise ConfigError(
            f"REDIS_URL is not a Redis URL redis-py can read: {mask_url(url)!r}; expected "
            "redis://[[user]:password@]host[:port][/db] (percent-encode '/', '@' or ':' "
            "in the password)") from None
    return url


def _secret(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    return raw or None


def _fernet_keys(env: Mapping[str, str], name: str) -> str | None:
    """Comma-separated Fernet keys (the first encrypts, all decrypt), or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    for position, part in enumerate(raw.split(","), start=1):
        try:
            ok = len(base64.urlsafe_b64decode(part.strip().encode())) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ConfigError(
                f"{name} key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with `toky-ghl auth new-key`"
            )
    return raw


def _scopes(env: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    raw = env.get(name, "").strip() or default
    scopes = frozenset(raw.replace(",", " ").split())
    unknown = sorted(s for s in scopes if s not in KNOWN_SCOPES)
    if unknown:
        raise ConfigError(
            f"{name} has unknown scope(s) {', '.join(unknown)}; "
            f"known scopes: {' '.join(sorted(KNOWN_SCOPES))}"
        )
    return scopes


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with units in the names.

    Secrets are kept out of ``repr`` so that printing the settings, or a
    traceback that shows them, never reveals a token.
    """

    redis_url: str = "redis://localhost:6379/0"  # shown by repr() without its password
    redis_url_set: bool = False
    ghl_api_base: str = "https://services.leadconnectorhq.com"
    ghl_token: str | None = field(default=None, repr=False)
    ghl_location_id: str | None = None
    ghl_scopes: frozenset[str] = frozenset({"contacts.readonly"})
    ghl_calendar_id: str | None = None
    #: Let GHL run its appointment automations (confirmations, reminders) for synced
    #: appointments: ``toNotify`` is sent false unless this is on.
    ghl_appointment_notify: bool = False
    ghl_scopes_set: bool = False
    ghl_client_id: str | None = None
    ghl_client_secret: str | None = field(default=None, repr=False)
    ghl_refresh_token: str | None = field(default=None, repr=False)
    ghl_oauth_redirect_uri: str | None = None
    ghl_oauth_authorize_url: str = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
    ghl_token_refresh_margin_s: float = 30.0
    token_encryption_key: str | None = field(default=None, repr=False)
    ghl_rate_limit_max: int = 100
    ghl_rate_limit_interval_ms: int = 10_000
    ghl_rate_limit_daily: int = 200_000
    ghl_connect_timeout_s: float = 5.0
    ghl_read_timeout_s: float = 30.0
    ghl_retry_max_attempts: int = 8
    ghl_backoff_base_ms: int = 500
    ghl_backoff_cap_ms: int = 300_000
    #: Transient failures (5xx, timeouts, 429, auth pause, open circuit) are retried
    #: until this long after the first one, then dead-lettered with their history.
    ghl_retry_horizon_s: int = 86_400
    #: Consecutive failures (5xx, timeouts, token endpoint down) that open a location's circuit.
    circuit_failure_threshold: int = 5
    #: First wait before probing an open circuit; doubles per failed probe up to the max.
    circuit_probe_interval_ms: int = 15_000
    circuit_probe_max_ms: int = 240_000
    #: How often each worker's scheduler looks for due parked events, in ms.
    delay_poll_interval_ms: int = 500
    #: Each worker runs the scheduler in a thread (off: run `toky-ghl scheduler` instead).
    delay_scheduler_in_worker: bool = True
    toky_api_base: str = "https://api.toky.co/v1"
    toky_api_key: str | None = field(default=None, repr=False)
    toky_poll_interval_s: float = 30.0
    toky_backfill_since: str | None = None
    toky_poll_overlap_s: int = 3600
    toky_poll_lock_ttl_s: int = 60
    #: GHL → Toky contact mirror (``toky-ghl mirror``), opt-in.
    mirror_ghl_to_toky: bool = False
    mirror_poll_interval_s: float = 30.0
    mirror_backfill_since: str | None = None
    mirror_poll_overlap_s: int = 300
    followup_due_minutes: int = 60
    #: A contact whose email belongs to another phone's GHL contact (see
    #: worker/sync/contact_upsert.py): "separate" (the default: a contact of its
    #: own, with the email when the location allows duplicates, else without it) or
    #: "omit-email" (a contact of its own, never with the other phone's email).
    contact_email_conflict: str = "separate"
    field_map: str | None = None
    #: The rules file (AUTOMATIONS); None: the built-in rules (the contract's table).
    automations: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_max_body_bytes: int = 262_144
    flower_basic_auth: str | None = field(default=None, repr=False)
    #: Waits are parked, so a message is held only while its task runs: a short
    #: timeout brings a SIGKILLed worker's events back fast (README, "Killed workers").
    visibility_timeout_s: int = 90
    rate_wait_inline_max_ms: int = 2000
    log_level: str = "INFO"
    #: "auto": JSON lines unless stderr is a terminal (readable lines); or "json", "console".
    log_format: str = "auto"
    key_prefix: str = "tokyghl"

    def __repr__(self) -> str:
        """The dataclass's repr (secrets left out), with REDIS_URL's password masked."""
        def shown(name: str) -> str:
            value = getattr(self, name)
            return repr(mask_url(value) if name == "redis_url" else value)

        return f"Settings({', '.join(f'{f.name}={shown(f.name)}' for f in fields(self) if f.repr)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(
                f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {log_level!r}"
            )
        log_format = (env.get("LOG_FORMAT", "").strip() or "auto").lower()
        if log_format not in {"auto", "json", "console"}:
            raise ConfigError(f"LOG_FORMAT must be auto, json or console, got {log_format!r}")
        followup = _int(env, "FOLLOWUP_DUE_MINUTES", 60, minimum=0)
        email_conflict = (env.get("CONTACT_EMAIL_CONFLICT", "").strip() or "separate").lower()
        if email_conflict not in EMAIL_CONFLICT_POLICIES:
            raise ConfigError("CONTACT_EMAIL_CONFLICT must be one of "
                              f"{', '.join(EMAIL_CONFLICT_POLICIES)}, got {email_conflict!r}")
        settings = cls(
            redis_url=_redis_url(env),
            redis_url_set=bool(env.get("REDIS_URL", "").strip()),
            ghl_api_base=_url(
                env, "GHL_API_BASE", "https://services.leadconnectorhq.com", ("http", "https")
            ),
            ghl_token=_secret(env, "GHL_TOKEN"),
            ghl_location_id=env.get("GHL_LOCATION_ID", "").strip() or None,
            ghl_scopes=_scopes(env, "GHL_SCOPES", "contacts.readonly"),
            ghl_calendar_id=env.get("GHL_CALENDAR_ID", "").strip() or None,
            ghl_appointment_notify=_bool(env, "GHL_APPOINTMENT_NOTIFY", False),
            ghl_scopes_set=bool(env.get("GHL_SCOPES", "").strip()),
            ghl_client_id=env.get("GHL_CLIENT_ID", "").strip() or None,
            ghl_client_secret=_secret(env, "GHL_CLIENT_SECRET"),
            ghl_refresh_token=_secret(env, "GHL_REFRESH_TOKEN"),
            ghl_oauth_redirect_uri=(_url(env, "GHL_OAUTH_REDIRECT_URI", "", ("http", "https"))
                                    if env.get("GHL_OAUTH_REDIRECT_URI", "").strip() else None),
            ghl_oauth_authorize_url=_url(
                env, "GHL_OAUTH_AUTHORIZE_URL",
                "https://marketplace.gohighlevel.com/v2/oauth/chooselocation", ("http", "https")),
            ghl_token_refresh_margin_s=_float(env, "GHL_TOKEN_REFRESH_MARGIN_S", 30.0, minimum=0),
            token_encryption_key=_fernet_keys(env, "TOKEN_ENCRYPTION_KEY"),
            ghl_rate_limit_max=_int(env, "GHL_RATE_LIMIT_MAX", 100, minimum=1),
            ghl_rate_limit_interval_ms=_int(env, "GHL_RATE_LIMIT_INTERVAL_MS", 10_000, minimum=1),
            ghl_rate_limit_daily=_int(env, "GHL_RATE_LIMIT_DAILY", 200_000, minimum=1),
            ghl_connect_timeout_s=_float(env, "GHL_CONNECT_TIMEOUT_S", 5.0, minimum=0.1),
            ghl_read_timeout_s=_float(env, "GHL_READ_TIMEOUT_S", 30.0, minimum=0.1),
            ghl_retry_max_attempts=_int(env, "GHL_RETRY_MAX_ATTEMPTS", 8, minimum=1),
            ghl_backoff_base_ms=_int(env, "GHL_BACKOFF_BASE_MS", 500, minimum=1),
            ghl_backoff_cap_ms=_int(env, "GHL_BACKOFF_CAP_MS", 300_000, minimum=1),
            ghl_retry_horizon_s=_int(env, "GHL_RETRY_HORIZON_S", 86_400, minimum=1),
            circuit_failure_threshold=_int(env, "CIRCUIT_FAILURE_THRESHOLD", 5, minimum=1),
            circuit_probe_interval_ms=_int(env, "CIRCUIT_PROBE_INTERVAL_MS", 15_000, minimum=10),
            circuit_probe_max_ms=_int(env, "CIRCUIT_PROBE_MAX_MS", 240_000, minimum=10),
            delay_poll_interval_ms=_int(env, "DELAY_POLL_INTERVAL_MS", 500, minimum=10),
            delay_scheduler_in_worker=_bool(env, "DELAY_SCHEDULER_IN_WORKER", True),
            toky_api_base=_url(env, "TOKY_API_BASE", "https://api.toky.co/v1", ("http", "https")),
            toky_api_key=_secret(env, "TOKY_API_KEY"),
            toky_poll_interval_s=_float(env, "TOKY_POLL_INTERVAL_S", 30.0, minimum=1.0),
            toky_backfill_since=env.get("TOKY_BACKFILL_SINCE", "").strip() or None,
            toky_poll_overlap_s=_int(env, "TOKY_POLL_OVERLAP_S", 3600, minimum=0),
            toky_poll_lock_ttl_s=_int(env, "TOKY_POLL_LOCK_TTL_S", 60, minimum=5),
            mirror_ghl_to_toky=_bool(env, "MIRROR_GHL_TO_TOKY", False),
            mirror_poll_interval_s=_float(env, "MIRROR_POLL_INTERVAL_S", 30.0, minimum=1.0),
            mirror_backfill_since=env.get("MIRROR_BACKFILL_SINCE", "").strip() or None,
            mirror_poll_overlap_s=_int(env, "MIRROR_POLL_OVERLAP_S", 300, minimum=0),
            followup_due_minutes=followup,
            contact_email_conflict=email_conflict,
            field_map=env.get("FIELD_MAP", "").strip() or None,
            automations=env.get("AUTOMATIONS", "").strip() or None,
            webhook_secret=_secret(env, "WEBHOOK_SECRET"),
            webhook_max_body_bytes=_int(env, "WEBHOOK_MAX_BODY_BYTES", 262_144, minimum=1024),
            flower_basic_auth=_secret(env, "FLOWER_BASIC_AUTH"),
            visibility_timeout_s=_int(env, "CELERY_VISIBILITY_TIMEOUT_S", 90, minimum=10),
            rate_wait_inline_max_ms=_int(env, "RATE_WAIT_INLINE_MAX_MS", 2000, minimum=0),
            log_level=log_level,
            log_format=log_format,
            key_prefix=env.get("TOKY_GHL_KEY_PREFIX", "").strip() or "tokyghl",
        )
        settings._check_consistency()
        return settings

    def _check_consistency(self) -> None:
        if self.ghl_backoff_cap_ms < self.ghl_backoff_base_ms:
            raise ConfigError(
                f"GHL_BACKOFF_CAP_MS ({self.ghl_backoff_cap_ms}) must not be below "
                f"GHL_BACKOFF_BASE_MS ({self.ghl_backoff_base_ms})"
            )
        if self.circuit_probe_max_ms < self.circuit_probe_interval_ms:
            raise ConfigError(
                f"CIRCUIT_PROBE_MAX_MS ({self.circuit_probe_max_ms}) must not be below "
                f"CIRCUIT_PROBE_INTERVAL_MS ({self.circuit_probe_interval_ms})"
            )
        if bool(self.ghl_client_id) != bool(self.ghl_client_secret):
            raise ConfigError("GHL_CLIENT_ID and GHL_CLIENT_SECRET go together: set both or none")
        if self.ghl_refresh_token and not self.ghl_client_id:
            raise ConfigError("GHL_REFRESH_TOKEN needs GHL_CLIENT_ID and GHL_CLIENT_SECRET")
        if self.flower_basic_auth and ":" not in self.flower_basic_auth:
            raise ConfigError("FLOWER_BASIC_AUTH must be user:password (the value has no ':')")

    def require(self, *names: str) -> None:
        """Raise ``ConfigError`` naming every listed variable that is not set.

        ``names`` are environment-variable names, e.g. ``"GHL_TOKEN"``.
        """
        missing = [n for n in names if getattr(self, n.lower(), None) in (None, "")]
        if missing:
            raise ConfigError(f"{', '.join(missing)} must be set (see README, Configuration)")

    def public_dict(self) -> dict[str, object]:
        """The settings with every secret replaced by ``"***"`` (or None when unset)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.repr:
                value = "***" if value else None
            elif isinstance(value, frozenset):
                value = " ".join(sorted(value))
            out[f.name] = value
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings.from_env()
