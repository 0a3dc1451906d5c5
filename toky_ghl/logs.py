"""structlog set-up with a redaction processor.

Every log line goes through ``redact``: values under secret-looking keys are
replaced, and every registered secret value (the GHL token, the Toky key, the
webhook secret, ...) is scrubbed from every string, wherever it appears; so
are Bearer and Basic credentials, ``Authorization:`` headers quoted in text,
passwords in URLs (``redis://:pw@host``), tokens in query strings and
``name=value`` / ``"name": "value"`` pairs whose name says secret. Tracebacks
are rendered to text BEFORE redaction, for structlog's lines and for those of
the standard ``logging`` module (Celery's, Flower's, kombu's) alike.
JSON lines when stderr is not a terminal, readable coloured lines when it is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

import structlog

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|api[_-]?key|x-toky-key|cookie|client_secret"
    r"|basic[_-]?auth|credential|private[_-]?key)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_URL_TOKEN = re.compile(r"([?&](?:token|access_token|api_key|key)=)[^&\s'\"]+", re.IGNORECASE)
#: ``scheme://user:PASSWORD@host``: the password part (kombu's own ``:**@`` left as is).
_URL_PASSWORD = re.compile(r"(\w://[^/\s:@]*:)(?!\*+@)[^@/\s]+(@)")
#: ``Authorization: <anything>`` quoted in text (an HTTP header dumped into a message).
_AUTH_HEADER = re.compile(r"(authorization[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\"'\n,}]+",
                          re.IGNORECASE)
#: ``GHL_TOKEN=abc``, ``"refresh_token": "abc"``, ``password: abc`` in text.
_NAMED_SECRET = re.compile(
    r"([\w-]*(?:token|secret|password|passwd|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\*\*\*)[^\s\"'&,;}]+",
    re.IGNORECASE,
)
_secret_values: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that ``redact`` scrubs them from any string."""
    for value in values:
        if value and len(value) >= 4:
            _secret_values.add(value)


def register_settings_secrets(settings: Any) -> None:
    """Register every secret of a ``Settings`` (its fields kept out of ``repr``), and the
    password of each ``user:password`` pair of ``FLOWER_BASIC_AUTH`` on its own."""
    from dataclasses import fields

    values = [getattr(settings, f.name) for f in fields(settings) if not f.repr]
    register_secrets(v for v in values if isinstance(v, str))
    basic_auth = getattr(settings, "flower_basic_auth", None) or ""
    register_secrets(pair.partition(":")[2] for pair in basic_auth.split(","))


def scrub(text: str) -> str:
    """``text`` with every known secret, credential, URL password and URL token replaced."""
    for value in sorted(_secret_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    text = _AUTH_HEADER.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + r"\2", text)
    text = _URL_TOKEN.sub(r"\1" + REDACTED, text)
    return _NAMED_SECRET.sub(r"\1" + REDACTED, text)


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(None, v) for v in value)
    return value


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: remove secrets from every key and value of a log line."""
    return {k: _redact_value(k, v) for k, v in event_dict.items()}


def _configured_format() -> str:
    """``LOG_FORMAT`` from the settings: auto, json or console (auto if unreadable)."""
    from toky_ghl.errors import ConfigError
    from toky_ghl.settings import get_settings

    try:
        return get_settings().log_format
    except ConfigError:
        return "auto"


def configure(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog and the standard logging module (Celery's too).

    ``json``: True for JSON lines, False for readable lines (coloured on a
    terminal), None to follow ``LOG_FORMAT`` (auto: JSON unless stderr is a terminal).
    """
    if json is None:
        chosen = _configured_format()
        json = not sys.stderr.isatty() if chosen == "auto" else chosen == "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: module-level loggers keep following the configuration, so a
        # later configure() (or structlog.testing.capture_logs) reaches them too.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Celery's, Flower's and kombu's records: the same chain, traceback included.
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "waitress.queue"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
