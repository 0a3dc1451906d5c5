"""structlog set-up with a redaction processor.

Every log line goes through ``redact``: values under secret-looking keys are
replaced, and every registered secret value (the GHL token, the Toky key, the
webhook secret, ...) is scrubbed from every string, wherever it appears; so
are Bearer and Basic credentials, ``Authorization:`` headers quoted in text,
passwords in URLs (``redis://:pw@host``), tokens in query strings and
``name=value`` / ``"name": "value"`` pairs whose name says secret. Every pattern
is bounded and every value is cut to ``MAX_VALUE_CHARS`` first, so a hostile value
(a 250 KB URL) costs linear, bounded work. Tracebacks
are rendered to text BEFORE redaction, for structlog's lines and for those of
the standard ``logging`` module (Celery's, Flower's, kombu's) alike.
JSON lines when stderr is not a terminal, readable coloured lines when it is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, cast

import structlog
from structlog.typing import EventDict

from toky_ghl import log_processors
from toky_ghl.loggers import LevelCheckedLogger, ModuleLogger
from toky_ghl.url_mask import REDACTED, url_password

#: The longest string value a log line keeps (a traceback: ``MAX_TRACEBACK_CHARS``); the
#: rest is cut BEFORE scrubbing, so no value costs more than a bounded amount of work.
MAX_VALUE_CHARS = 4_000
MAX_TRACEBACK_CHARS = 32_000
_TRACEBACK_KEYS = frozenset({"exception", "exc_info", "stack"})
#: A secret that straddles the cut is removed whole: the cut goes back to the last blank
#: within this many characters (or by all of them when there is none).
_CUT_WINDOW = 256
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|api[_-]?key|x-toky-key|cookie|client_secret"
    r"|basic[_-]?auth|credential|private[_-]?key)",
    re.IGNORECASE,
)
# Every pattern below is bounded ({m,n}, never * or + before a literal that may not
# come): each match attempt scans at most a few hundred characters, so scrubbing is
# linear in the text (an unbounded ``[\w-]*`` prefix made a 16 KB URL cost 9 s).
_BEARER = re.compile(r"((?:Bearer|Basic)\s{1,16})[A-Za-z0-9._~+/=-]{1,4096}", re.IGNORECASE)
_URL_TOKEN = re.compile(r"([?&](?:token|access_token|api_key|key)=)[^&\s'\"]{1,4096}",
                        re.IGNORECASE)
#: ``scheme://user:PASSWORD@host``: the password part (kombu's own ``:**@`` left as is).
_URL_PASSWORD = re.compile(r"(\w://[^/\s:@]{0,256}:)(?!\*{1,16}@)[^@/\s]{1,1024}(@)")
#: ``Authorization: <anything>`` quoted in text (an HTTP header dumped into a message).
_AUTH_HEADER = re.compile(
    r"(authorization[\"']?\s{0,16}[:=]\s{0,16}[\"']?)(?!\*\*\*)[^\"'\n,}]{1,4096}",
    re.IGNORECASE)
#: ``GHL_TOKEN=abc``, ``"refresh_token": "abc"``, ``password: abc`` in text (the name's
#: prefix is bounded: ``[\w-]{0,64}``).
_NAMED_SECRET = re.compile(
    r"([\w-]{0,64}(?:token|secret|password|passwd|api[_-]?key)[\"']?\s{0,16}[:=]\s{0,16}[\"']?)"
    r"(?!\*\*\*)[^\s\"'&,;}]{1,4096}",
    re.IGNORECASE,
)
#: Every pattern above needs one of these words (any case): a text without any is left as
#: it is (most values of a log line: ids, types, counts), which keeps logging cheap per
#: event. Looked up as substrings of the lower-cased text (``_may_match``): a
#: case-insensitive regular expression costs ~0.1 µs per character, five times more.
_MAY_MATCH_WORDS = ("bearer", "basic", "authoriz", "token", "secret", "passw",
                    "apikey", "api_key", "api-key", "key=", "://")
_MAY_MATCH = re.compile("|".join(re.escape(word) for word in _MAY_MATCH_WORDS), re.IGNORECASE)
#: The non-ASCII characters ``re.IGNORECASE`` takes for an ASCII letter that ``str.lower``
#: does not give (dotted and dotless i, long s, Kelvin sign): a text with one is checked
#: with ``_MAY_MATCH`` itself, so the look-up misses nothing the patterns would catch.
_IGNORECASE_ODD = ("\u0130", "\u0131", "\u017f", "\u212a")
_secret_values: set[str] = set()
_secrets_longest_first: tuple[str, ...] = ()
#: The length of the shortest registered secret: a shorter text cannot hold one.
_shortest_secret = 0
#: Texts ``_is_plain`` found plain: a line's values repeat (its level, logger and event
#: names; the ids of one task's lines), and a set look-up costs less than the checks.
#: ``register_secrets`` replaces the set (a text plain before may hold the new secret);
#: ``_is_plain`` takes the set before the secrets, so a look-up racing a registration
#: adds to the set being dropped. Bounded: emptied when full; only short texts.
_PLAIN_MAX_TEXTS = 4096
_PLAIN_MAX_CHARS = 256
_plain_texts: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that ``redact`` scrubs them from any string."""
    global _secrets_longest_first, _shortest_secret, _plain_texts
    added = False
    for value in values:
        if value and len(value) >= 4 and value not in _secret_values:
            _secret_values.add(value)
            added = True
    if added:
        _secrets_longest_first = tuple(sorted(_secret_values, key=len, reverse=True))
        _shortest_secret = len(_secrets_longest_first[-1])
        _plain_texts = set()  # after the secrets: see _plain_texts


def register_settings_secrets(settings: Any) -> None:
    """Register every secret of a ``Settings`` (its fields kept out of ``repr``), the
    password of ``REDIS_URL`` (not the whole URL), and the password of each
    ``user:password`` pair of ``FLOWER_BASIC_AUTH`` on its own."""
    from dataclasses import fields

    values = [getattr(settings, f.name) for f in fields(settings)
              if not f.repr and f.name != "redis_url"]
    register_secrets(v for v in values if isinstance(v, str))
    register_secrets([url_password(getattr(settings, "redis_url", None))])
    basic_auth = getattr(settings, "flower_basic_auth", None) or ""
    register_secrets(pair.partition(":")[2] for pair in basic_auth.split(","))


def _replace_registered(text: str) -> str:
    if _shortest_secret == 0 or len(text) < _shortest_secret:
        return text
    for value in _secrets_longest_first:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _is_plain(text: str) -> bool:
    """Whether ``text`` holds no registered secret and no word that any pattern needs:
    ``scrub`` would answer it as it is."""
    known = _plain_texts  # before the secrets: see _plain_texts
    if text in known:
        return True
    if _shortest_secret and len(text) >= _shortest_secret:
        for value in _secrets_longest_first:
            if value in text:
                return False
    if _may_match(text):
        return False
    if len(text) <= _PLAIN_MAX_CHARS:
        if len(known) >= _PLAIN_MAX_TEXTS:
            known.clear()
        known.add(text)
    return True


def _may_match(text: str) -> bool:
    """Whether ``text`` holds a word of ``_MAY_MATCH`` (without its regex cost, mostly)."""
    if not text.isascii() and any(odd in text for odd in _IGNORECASE_ODD):
        return _MAY_MATCH.search(text) is not None
    lowered = text.lower()
    for word in _MAY_MATCH_WORDS:  # noqa: SIM110 - a loop: any() of a generator costs 3x
        if word in lowered:
            return True
    return False


def scrub(text: str) -> str:
    """``text`` with every known secret, credential, URL password and URL token replaced.

    Linear in ``len(text)`` (every pattern is bounded); ``redact`` also cuts long values
    first (``cut``).
    """
    return _scrub_patterns(_replace_registered(text))


def _scrub_patterns(text: str) -> str:
    """``text`` with the credentials the patterns recognise replaced."""
    if not _may_match(text):
        return text
    text = _AUTH_HEADER.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + r"\2", text)
    text = _URL_TOKEN.sub(r"\1" + REDACTED, text)
    return _NAMED_SECRET.sub(r"\1" + REDACTED, text)


def cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out.

    The cut goes back to the last blank of its last ``_CUT_WINDOW`` characters (all of
    them when there is none), so a credential straddling the cut is dropped whole, never
    half-kept where the patterns no longer recognise it.
    """
    if len(text) <= limit:
        return text
    kept = text[:limit]
    window_start = max(0, limit - _CUT_WINDOW)
    blank = max(kept.rfind(c, window_start) for c in " \t\r\n")
    kept = kept[:blank] if blank >= 0 else kept[:window_start]
    return f"{kept}… [{len(text) - len(kept)} more characters not logged]"


def _scrub_value(key: str | None, text: str) -> str:
    """A logged string: registered secrets out, cut to size, then scrubbed."""
    text = _replace_registered(text)  # before the cut, which may fall inside one
    limit = MAX_TRACEBACK_CHARS if key in _TRACEBACK_KEYS else MAX_VALUE_CHARS
    # (the cut only drops text and appends its count: no registered secret to look for again)
    return _scrub_patterns(cut(text, limit))


@lru_cache(maxsize=1024)  # a log line's keys come from a small set: decided once each
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and _is_secret_key(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        if len(value) <= MAX_VALUE_CHARS and _is_plain(value):
            return value  # most values (ids, types, counts): nothing to cut or replace
        return _scrub_value(key, value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(None, v) for v in value)
    return value


#: A line's keys found not secret-looking (they come from the code: few), so that a value
#: ``_redact_value`` would keep as it is is kept without the call. Bounded like the cache
#: of ``_is_secret_key``.
_ordinary_keys: set[str] = set()
_ORDINARY_KEYS_MAX = 1024
#: The types ``_redact_value`` keeps as they are under an ordinary key.
_KEPT_TYPES = frozenset({int, float, bool, type(None)})


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: remove secrets from every key and value of a log line."""
    known = _plain_texts  # (taken before any secret is read: see _plain_texts)
    redacted = {}
    for key, value in event_dict.items():
        if key in _ordinary_keys and (
                value in known if type(value) is str else type(value) in _KEPT_TYPES):
            redacted[key] = value  # what _redact_value answers, without its checks
            continue
        redacted[key] = _redact_value(key, value)
        if (type(key) is str and not _is_secret_key(key)
                and len(_ordinary_keys) < _ORDINARY_KEYS_MAX):
            _ordinary_keys.add(key)
    return redacted


#: The attribute of a ``LogRecord`` whose message is a structlog line, already rendered.
_RENDERED = "toky_ghl_rendered"


class _Rendered:
    """structlog's last processor: render the line, and hand it to the standard logging
    module marked as rendered (``_LineFormatter`` writes it as it is). Like structlog's
    ``ProcessorFormatter.wrap_for_formatter``, without a second copy of the record and of
    the line's dict in the formatter: one of issue 12's costs per event."""

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, method: str,
                 event_dict: EventDict) -> tuple[tuple[str], dict[str, Any]]:
        return (self.renderer(logger, method, event_dict),), {"extra": {_RENDERED: True}}


class _LineFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's lines as rendered by ``_Rendered``; every other record (Celery's,
    Flower's, kombu's) through ``foreign_pre_chain`` and the renderer."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, _RENDERED, False):
            return str(record.msg)
        return super().format(record)


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
        # structlog's merge_contextvars and TimeStamper(fmt="iso", utc=True), cheaper
        log_processors.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        log_processors.add_timestamp,
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=log_processors.json_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, _Rendered(renderer)],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=LevelCheckedLogger,
        # Not cached by structlog: a logger keeps following the configuration, so a later
        # configure() (or structlog.testing.capture_logs) reaches it too. Module loggers
        # (get_logger) are kept per configuration by ModuleLogger instead.
        cache_logger_on_first_use=False,
    )
    formatter = _LineFormatter(
        # Celery's, Flower's and kombu's records: the same chain, traceback included.
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    # The logging module's own optimisation (Logging HOWTO, "Optimization"): no line
    # shows the caller's file and line, thread or process, so a record does not look
    # them up (a frame walk, threading and multiprocessing look-ups on every line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "waitress.queue"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A module-level logger: it follows the configuration, at little cost per call."""
    return cast(structlog.stdlib.BoundLogger, ModuleLogger(name))
