"""How one setting is declared: its variable, default, type, validation and help.

``toky_ghl.settings.Settings`` declares every setting once, as a field made by
``option()``: the field's annotation is its type, and ``option`` holds the
environment variable, the default, the parser that validates a value (and names
the variable in its ``ConfigError``) and the help shown in the README's
configuration table (``toky-ghl settings --markdown``). Like Celery's ``Option``
table (celery/app/defaults.py), nothing else writes a default.

A parser takes the variable's name and its value, stripped and never empty (an
unset or blank variable means the default), and returns the typed value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

from toky_ghl.errors import ConfigError
from toky_ghl.url_mask import mask_url

T = TypeVar("T")
N = TypeVar("N", int, float)

#: ``parse(variable name, stripped non-empty value) -> typed value``; raises ``ConfigError``.
Parser = Callable[[str, str], T]

_METADATA_KEY = "toky_ghl.option"


@dataclass(frozen=True)
class Option:
    """One setting of the table: read from ``env``, ``default`` when unset."""

    attr: str  # the ``Settings`` field
    env: str
    default: object
    parse: Callable[[str, str], object]
    help: str
    secret: bool = False
    #: How the README shows the default when the value itself says little (None, a URL).
    shown_default: str | None = None

    def read(self, env: Mapping[str, str]) -> object:
        """This setting's value in ``env``: parsed when set, else the default."""
        raw = env.get(self.env, "").strip()
        return self.parse(self.env, raw) if raw else self.default

    def is_set(self, env: Mapping[str, str]) -> bool:
        return bool(env.get(self.env, "").strip())

    def default_text(self) -> str:
        """The default as the README's table shows it."""
        if self.shown_default is not None:
            return self.shown_default
        value = self.default
        if value is None:
            return "(none)"
        if isinstance(value, bool | float) and float(value).is_integer():
            value = int(value)  # booleans as 1/0, 30.0 as 30
        elif isinstance(value, frozenset):
            value = " ".join(sorted(value))
        return f"`{value}`"


def option(env: str, default: T, parse: Parser[T], help: str, *,  # noqa: A002 (Celery's word)
           secret: bool = False, shown_default: str | None = None) -> T:
    """A ``Settings`` field declared with its variable, default, parser and help.

    Secrets are kept out of ``repr`` (and so out of tracebacks and logs)."""
    spec = {"env": env, "default": default, "parse": parse, "help": help, "secret": secret,
            "shown_default": shown_default}
    value: Any = default  # the field's default; the Field stands in for it until @dataclass
    made: Field[Any] = field(default=value, repr=not secret, metadata={_METADATA_KEY: spec})
    return cast(T, made)


def options_of(cls: type) -> tuple[Option, ...]:
    """The table: every ``option()`` field of dataclass ``cls``, in declaration order."""
    found = []
    for f in fields(cls):
        spec: dict[str, Any] | None = f.metadata.get(_METADATA_KEY)
        if spec is not None:
            found.append(Option(attr=f.name, **spec))
    return tuple(found)


def markdown_table(options: Collection[Option]) -> str:
    """The README's configuration table: one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for opt in options:
        meaning = f"{opt.help} (secret)" if opt.secret else opt.help
        rows.append(f"| `{opt.env}` | {opt.default_text()} | {meaning} |")
    return "\n".join(rows) + "\n"


# -- parsers ---------------------------------------------------------------------


def text(name: str, raw: str) -> str:
    """Any value (stripped)."""
    return raw


def _at_least(convert: Callable[[str], N], what: str, minimum: N) -> Parser[N]:
    def parse(name: str, raw: str) -> N:
        try:
            value = convert(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value

    return parse


def whole(*, minimum: int = 0) -> Parser[int]:
    """A whole number of at least ``minimum``."""
    return _at_least(int, "a whole number", minimum)


def number(*, minimum: float = 0.0) -> Parser[float]:
    """A number (a float) of at least ``minimum``."""
    return _at_least(float, "a number", minimum)


def flag(name: str, raw: str) -> bool:
    """1/0, true/false, yes/no, on/off (any case)."""
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {lowered!r}")


def choice(values: tuple[str, ...], *, upper: bool = False, listed: str = "one of") -> Parser[str]:
    """One of ``values``, compared upper- (``upper``) or lower-cased; the error lists them
    as ``one of A, B, C`` (``listed="one of"``) or ``a, b or c`` (``listed="or"``)."""
    if listed == "or":
        shown = f"{', '.join(values[:-1])} or {values[-1]}"
    else:
        shown = f"one of {', '.join(values)}"

    def parse(name: str, raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in values:
            raise ConfigError(f"{name} must be {shown}, got {value!r}")
        return value

    return parse


def url(*schemes: str) -> Parser[str]:
    """A URL with one of ``schemes``; an HTTP(S) URL loses its trailing ``/``. The error
    shows the value without its password."""

    def parse(name: str, raw: str) -> str:
        parsed = urlparse(raw)
        if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
            raise ConfigError(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
                f"got {mask_url(raw)!r}"  # the password never shown
            )
        return raw.rstrip("/") if parsed.scheme.startswith("http") else raw

    return parse


def redis_address(name: str, raw: str) -> str:
    """A Redis URL, checked as redis-py reads it; errors show it without its password."""
    import redis

    value = url("redis", "rediss", "unix")(name, raw)
    try:
        redis.ConnectionPool.from_url(value)
    except (ValueError, TypeError):  # redis-py's own text may quote part of the password
        raise ConfigError(
            f"{name} is not a Redis URL redis-py can read: {mask_url(value)!r}; expected "
            "redis://[[user]:password@]host[:port][/db] (percent-encode '/', '@' or ':' "
            "in the password)") from None
    return value


def fernet_keys(name: str, raw: str) -> str:
    """Comma-separated Fernet keys (the first encrypts, all decrypt)."""
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


def scope_set(known: frozenset[str]) -> Parser[frozenset[str]]:
    """Scopes separated by spaces or commas, each one of ``known``."""

    def parse(name: str, raw: str) -> frozenset[str]:
        scopes = frozenset(raw.replace(",", " ").split())
        unknown = sorted(s for s in scopes if s not in known)
        if unknown:
            raise ConfigError(
                f"{name} has unknown scope(s) {', '.join(unknown)}; "
                f"known scopes: {' '.join(sorted(known))}"
            )
        return scopes

    return parse
