"""structlog set-up with a redaction processor.

Every log line goes through ``redact``: values under secret-looking keys are
replaced, and every registered secret value (the GHL token, the Toky key, the
webhook secret, ...) is scrubbed from every string, wherever it appears.
JSON lines when stderr is not a terminal, readable lines when it is.
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
    r"(token|secret|password|passwd|authorization|api[_-]?key|x-toky-key|cookie|client_secret)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_URL_TOKEN = re.compile(r"([?&](?:token|access_token|api_key|key)=)[^&\s'\"]+", re.IGNORECASE)
_secret_values: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that ``redact`` scrubs them from any string."""
    for value in values:
        if value and len(value) >= 4:
            _secret_values.add(value)


def scrub(text: str) -> str:
    """``text`` with every known secret, Bearer token and URL token replaced."""
    for value in _secret_values:
        if value in text:
            text = text.replace(value, REDACTED)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _URL_TOKEN.sub(r"\1" + REDACTED, text)


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


def configure(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog and the standard logging module (Celery's too)."""
    if json is None:
        json = not sys.stderr.isatty()
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
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared[:-2] + [redact],
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
