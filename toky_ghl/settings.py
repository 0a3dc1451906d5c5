"""One settings object, read once from the environment and validated.

Every environment variable the product reads is declared here and nowhere else
(no ``os.environ`` reads scattered through modules). A bad value raises
``ConfigError`` naming the variable and what it expects; ``toky-ghl`` turns that
into a one-line message and exit status 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from toky_ghl.errors import ConfigError
from toky_ghl.options import (
    choice,
    fernet_keys,
    flag,
    markdown_table,
    number,
    option,
    options_of,
    redis_address,
    scope_set,
    text,
    url,
    whole,
)
from toky_ghl.url_mask import mask_url

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

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


MARKETPLACE_AUTHORIZE_URL = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
_HTTP = ("http", "https")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with units in the names: THE settings table.

    Each setting is declared once, here: its type (the annotation), and in
    ``option(...)`` its variable, default, parser (the validation, whose error
    names the variable) and help (the README's configuration table is generated
    from it: ``toky-ghl settings --markdown``). To add one, add a line.

    Secrets are kept out of ``repr`` so that printing the settings, or a
    traceback that shows them, never reveals a token.
    """

    redis_url: str = option(  # shown by repr() without its password
        "REDIS_URL", "redis://localhost:6379/0", redis_address,
        "broker, rate-limit state, id map, versions, dead letters (`toky-ghl run`: unset = "
        "embedded Redis)")
    key_prefix: str = option(
        "TOKY_GHL_KEY_PREFIX", "tokyghl", text,
        "prefix of every key toky-ghl writes, Celery's included (the queue `toky-ghl.events` is "
        "the list `<prefix>:toky-ghl.events`; `unacked`, `_kombu.*`, task events and remote "
        "control too, through kombu's `global_keyprefix`): deployments with different prefixes "
        "share one Redis database without sharing a queue, a worker or a Flower")
    ghl_api_base: str = option(
        "GHL_API_BASE", "https://services.leadconnectorhq.com", url(*_HTTP),
        "GHL's API (a simulator's in tests and `toky-ghl sandbox`)")
    ghl_token: str | None = option(
        "GHL_TOKEN", None, text,
        "Bearer token: Private Integration Token or OAuth access token", secret=True)
    ghl_location_id: str | None = option("GHL_LOCATION_ID", None, text, "the sub-account")
    ghl_scopes: frozenset[str] = option(
        "GHL_SCOPES", frozenset({"contacts.readonly"}), scope_set(KNOWN_SCOPES),
        "granted scopes; a write they don't allow is refused before it is sent. Full sync: "
        "`contacts.readonly contacts.write calendars/events.readonly calendars/events.write`")
    ghl_calendar_id: str | None = option(
        "GHL_CALENDAR_ID", None, text, "calendar for appointments")
    #: Let GHL run its appointment automations (confirmations, reminders) for synced
    #: appointments: ``toNotify`` is sent false unless this is on.
    ghl_appointment_notify: bool = option(
        "GHL_APPOINTMENT_NOTIFY", False, flag,
        "`1`: let GHL run its appointment automations (confirmations, reminders) for synced "
        "appointments; by default they are written with `toNotify: false`")
    ghl_rate_limit_max: int = option(
        "GHL_RATE_LIMIT_MAX", 100, whole(minimum=1),
        "requests per window, per location, across all workers")
    ghl_rate_limit_interval_ms: int = option(
        "GHL_RATE_LIMIT_INTERVAL_MS", 10_000, whole(minimum=1), "the window")
    ghl_rate_limit_daily: int = option(
        "GHL_RATE_LIMIT_DAILY", 200_000, whole(minimum=1), "requests per UTC day, per location")
    ghl_rate_limit_batch: int = option(
        "GHL_RATE_LIMIT_BATCH", 32, whole(minimum=1),
        "the most slots of the shared budget a worker process leases in one Redis call and "
        "hands to its threads (at most a quarter of the free ones; unused ones go back "
        "within a second); `1`: one slot per call")
    rate_wait_inline_max_ms: int = option(
        "RATE_WAIT_INLINE_MAX_MS", 2000, whole(minimum=0),
        "longest wait on the limiter inside a task before the event's first request; a longer "
        "wait parks the event (see \"Waiting is parked\"). Once a request of the event was sent, "
        "its next ones wait for their slots up to two windows (20 s at most per event): parking "
        "then would restart the event and waste the slots it spent")
    ghl_connect_timeout_s: float = option(
        "GHL_CONNECT_TIMEOUT_S", 5.0, number(minimum=0.1), "HTTP connect timeout")
    ghl_read_timeout_s: float = option(
        "GHL_READ_TIMEOUT_S", 30.0, number(minimum=0.1), "HTTP read timeout")
    #: Transient failures (5xx, timeouts, 429, auth pause, open circuit) are retried
    #: until this long after the first one, then dead-lettered with their history.
    ghl_retry_horizon_s: int = option(
        "GHL_RETRY_HORIZON_S", 86_400, whole(minimum=1),
        "transient failures (5xx, timeouts, 429, auth pause, open circuit) are retried until "
        "this long after the first one, then dead-lettered (`horizon`) with their history")
    ghl_retry_max_attempts: int = option(
        "GHL_RETRY_MAX_ATTEMPTS", 8, whole(minimum=1),
        "attempts (first included) before a NON-transient failure is dead-lettered: a 404 that "
        "persists, an error of our own (`internal`)")
    ghl_backoff_base_ms: int = option(
        "GHL_BACKOFF_BASE_MS", 500, whole(minimum=1),
        "first retry backoff: exponential with full jitter; the event is parked meanwhile")
    ghl_backoff_cap_ms: int = option(
        "GHL_BACKOFF_CAP_MS", 300_000, whole(minimum=1),
        "the longest retry backoff (not below `GHL_BACKOFF_BASE_MS`)")
    #: Consecutive failures (5xx, timeouts, token endpoint down) that open a location's circuit.
    circuit_failure_threshold: int = option(
        "CIRCUIT_FAILURE_THRESHOLD", 5, whole(minimum=1),
        "consecutive failures (5xx, timeouts, token endpoint down) that open a location's "
        "circuit")
    #: First wait before probing an open circuit; doubles per failed probe up to the max.
    circuit_probe_interval_ms: int = option(
        "CIRCUIT_PROBE_INTERVAL_MS", 15_000, whole(minimum=10),
        "first wait before probing an open circuit, doubling after each failed probe up to "
        "`CIRCUIT_PROBE_MAX_MS`")
    circuit_probe_max_ms: int = option(
        "CIRCUIT_PROBE_MAX_MS", 240_000, whole(minimum=10),
        "the longest wait between probes of an open circuit (also the longest delay between "
        "GHL's recovery and the first event sent)")
    #: How often each worker's scheduler looks for due parked events, in ms.
    delay_poll_interval_ms: int = option(
        "DELAY_POLL_INTERVAL_MS", 500, whole(minimum=10),
        "how often the scheduler re-publishes due parked events")
    #: Each worker runs the scheduler in a thread (off: run `toky-ghl scheduler` instead).
    delay_scheduler_in_worker: bool = option(
        "DELAY_SCHEDULER_IN_WORKER", True, flag,
        "each worker runs the scheduler in a thread; `0`: run `toky-ghl scheduler` instead")
    ghl_client_id: str | None = option(
        "GHL_CLIENT_ID", None, text, "OAuth instead of a fixed token: the app's client id")
    ghl_client_secret: str | None = option(
        "GHL_CLIENT_SECRET", None, text, "the OAuth app's client secret", secret=True)
    ghl_refresh_token: str | None = option(
        "GHL_REFRESH_TOKEN", None, text, "an OAuth refresh token to start from", secret=True)
    ghl_oauth_redirect_uri: str | None = option(
        "GHL_OAUTH_REDIRECT_URI", None, url(*_HTTP), "for `toky-ghl auth login`")
    ghl_oauth_authorize_url: str = option(
        "GHL_OAUTH_AUTHORIZE_URL", MARKETPLACE_AUTHORIZE_URL, url(*_HTTP),
        "for `toky-ghl auth login`", shown_default="marketplace URL")
    ghl_token_refresh_margin_s: float = option(
        "GHL_TOKEN_REFRESH_MARGIN_S", 30.0, number(minimum=0),
        "refresh this long before expiry")
    token_encryption_key: str | None = option(
        "TOKEN_ENCRYPTION_KEY", None, fernet_keys,
        "Fernet key(s) encrypting tokens kept in Redis (`toky-ghl auth new-key`)", secret=True)
    toky_api_base: str = option(
        "TOKY_API_BASE", "https://api.toky.co/v1", url(*_HTTP),
        "Toky's API (a simulator's in tests and `toky-ghl sandbox`)")
    toky_api_key: str | None = option(
        "TOKY_API_KEY", None, text, "Toky account key", secret=True)
    toky_poll_interval_s: float = option(
        "TOKY_POLL_INTERVAL_S", 30.0, number(minimum=1.0), "seconds between polls")
    toky_backfill_since: str | None = option(
        "TOKY_BACKFILL_SINCE", None, text, "first poll starts here (ISO date or time)",
        shown_default="7 days back")
    toky_poll_overlap_s: int = option(
        "TOKY_POLL_OVERLAP_S", 3600, whole(minimum=0), "re-read window of each poll")
    toky_poll_lock_ttl_s: int = option(
        "TOKY_POLL_LOCK_TTL_S", 60, whole(minimum=5), "single-poller lock lifetime")
    #: GHL → Toky contact mirror (``toky-ghl mirror``), opt-in.
    mirror_ghl_to_toky: bool = option(
        "MIRROR_GHL_TO_TOKY", False, flag,
        "`1`: mirror GHL contacts added or changed into Toky (`toky-ghl mirror`; `toky-ghl run` "
        "starts it, and does by default in the demo)")
    mirror_poll_interval_s: float = option(
        "MIRROR_POLL_INTERVAL_S", 30.0, number(minimum=1.0),
        "seconds between polls of GHL by the mirror")
    mirror_backfill_since: str | None = option(
        "MIRROR_BACKFILL_SINCE", None, text,
        "the mirror's first poll reads GHL contacts changed since (ISO date or time)",
        shown_default="7 days back")
    mirror_poll_overlap_s: int = option(
        "MIRROR_POLL_OVERLAP_S", 300, whole(minimum=0),
        "re-read window of each mirror poll (GHL's search may list a change late); its lock "
        "lives `TOKY_POLL_LOCK_TTL_S`")
    followup_due_minutes: int = option(
        "FOLLOWUP_DUE_MINUTES", 60, whole(minimum=0),
        "follow-up task due after a missed call / voicemail")
    #: A contact whose email belongs to another phone's GHL contact (see
    #: worker/sync/contact_upsert.py): "separate" (the default: a contact of its
    #: own, with the email when the location allows duplicates, else without it) or
    #: "omit-email" (a contact of its own, never with the other phone's email).
    contact_email_conflict: str = option(
        "CONTACT_EMAIL_CONFLICT", EMAIL_CONFLICT_POLICIES[0], choice(EMAIL_CONFLICT_POLICIES),
        "a contact whose email is another phone's GHL contact's: `separate` (its own contact, "
        "with the email where the location allows duplicates) or `omit-email` (its own "
        "contact, never with that email); see \"One phone, one contact\"")
    field_map: str | None = option(
        "FIELD_MAP", None, text, "path of the field-map file (YAML or JSON)",
        shown_default="built-in")
    #: The rules file (AUTOMATIONS); None: the built-in rules (the contract's table).
    automations: str | None = option(
        "AUTOMATIONS", None, text,
        "path of the rules file (YAML or JSON, `docs/automations.md`); `extends: default` adds "
        "to the built-in rules, otherwise it replaces them", shown_default="built-in rules")
    webhook_secret: str | None = option(
        "WEBHOOK_SECRET", None, text,
        "secret the webhook receiver requires, at least 24 characters", secret=True)
    webhook_max_body_bytes: int = option(
        "WEBHOOK_MAX_BODY_BYTES", 262_144, whole(minimum=1024), "larger bodies get 413")
    flower_basic_auth: str | None = option(
        "FLOWER_BASIC_AUTH", None, text, "`user:password` for Flower", secret=True)
    #: Waits are parked, so a message is held only while its task runs: a short
    #: timeout brings a SIGKILLed worker's events back fast (README, "Killed workers").
    visibility_timeout_s: int = option(
        "CELERY_VISIBILITY_TIMEOUT_S", 90, whole(minimum=10),
        "a worker's `alive` key lives a third of this (3-30 s): a SIGKILLed worker's events are "
        "applied by the others within that + 10 s; a message left in kombu's `unacked` comes "
        "back after this (see \"Killed workers\")")
    #: Task events (what Flower shows) go out in batches: worker/task_events.py.
    task_events_flush_ms: int = option(
        "TASK_EVENTS_FLUSH_MS", 500, whole(minimum=0),
        "a worker sends its task events (what Flower shows) in one message this long after "
        "the first, or at 300 events: Flower lags by up to this; `0`: Celery's own "
        "buffering (about one message per task)")
    log_level: str = option(
        "LOG_LEVEL", "INFO", choice(LOG_LEVELS, upper=True),
        "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`; at `INFO` a worker logs one line "
        "per event (ours, with the outcome and reason); Celery's per-task \"received\" and "
        "\"succeeded\" lines at `DEBUG` (a task that fails is still an `ERROR`)")
    #: "auto": JSON lines unless stderr is a terminal (readable lines); or "json", "console".
    log_format: str = option(
        "LOG_FORMAT", "auto", choice(("auto", "json", "console"), listed="or"),
        "`auto`: JSON lines off a terminal, coloured lines on one; or `json`, `console`")
    # Not settings: whether REDIS_URL / GHL_SCOPES were set at all (from_env fills them in).
    redis_url_set: bool = False
    ghl_scopes_set: bool = False

    def __repr__(self) -> str:
        """The dataclass's repr (secrets left out), with REDIS_URL's password masked."""
        def shown(name: str) -> str:
            value = getattr(self, name)
            return repr(mask_url(value) if name == "redis_url" else value)

        return f"Settings({', '.join(f'{f.name}={shown(f.name)}' for f in fields(self) if f.repr)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (default ``os.environ``); the first bad value raises
        ``ConfigError`` naming its variable."""
        env = os.environ if env is None else env
        values = {opt.attr: opt.read(env) for opt in OPTIONS}
        settings = cls(**values,  # type: ignore[arg-type]  # each parser returns its field's type
                       redis_url_set=_OPTION["redis_url"].is_set(env),
                       ghl_scopes_set=_OPTION["ghl_scopes"].is_set(env))
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


#: The settings table (see ``Settings``), in the README's order.
OPTIONS = options_of(Settings)
_OPTION = {opt.attr: opt for opt in OPTIONS}


def settings_markdown() -> str:
    """The README's configuration table (``toky-ghl settings --markdown``)."""
    return markdown_table(OPTIONS)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings.from_env()
