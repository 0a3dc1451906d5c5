"""The HTTP policy both clients (GHL and Toky) follow, as small pure functions.

One rule each, whoever calls:

- ``Retry-After`` (``parse_retry_after_s``, ``retry_after_ms``): delay-seconds
  (fractions accepted) or an HTTP-date; a date without a zone (``-0000``) is UTC
  (RFC 9110: HTTP-dates are always GMT); a date in the past is 0; absent, blank,
  unreadable, NaN or infinite is None. In milliseconds it is rounded UP to a
  whole millisecond, so a hint is never cut short.
- Backoff (``backoff_ms``): full jitter, ``rand() * min(cap_ms, base_ms * 2**attempt)``
  in whole ms, where ``attempt`` is the 0-based index of the attempt that just
  failed: after the first attempt the ceiling is ``base_ms``.
- The wait before a retry (``wait_ms``): the server's hint when there is one,
  clamped to [0, ``cap_ms``], else the backoff.
- Whether a failed request may have reached the server (``may_have_arrived``):
  False only when the failure surely came before the request left (the connection
  was never opened: refused, unresolvable, connect timeout, TLS handshake, a URL
  requests cannot send); True otherwise (read timeout, connection dropped
  mid-answer), the safe default, since a write that may have arrived must not be
  sent twice. The GHL error calls it ``maybe_sent``, the Toky error
  ``request_sent``: the same value.
- ``X-RateLimit-*`` (``rate_limit_headers``): whole non-negative numbers only; a
  limit or window of 0 (``max``, ``interval``, ``daily limit``) is garbage (None).
- Sessions (``pooled_session``): connections kept alive per host, no hidden
  retries in the adapter (each client decides), and the proxy and CA-bundle
  variables read once when the session is made, not on every request.

Header names are matched without regard to case (``requests`` gives a
case-insensitive dict, tests may give a plain one). Randomness (``rand``) and the
clock (``now_s``) are injected so tests pin them.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

__all__ = [
    "RateLimitHeaders",
    "backoff_ms",
    "header",
    "may_have_arrived",
    "parse_retry_after_s",
    "pooled_session",
    "rate_limit_headers",
    "retry_after_ms",
    "wait_ms",
]

_MAX_EXPONENT = 62  # 2**62 ms is far past any cap; keeps the maths on small ints


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value of header ``name`` (any case), stripped; None when absent or blank."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            value = str(value).strip()
            return value or None
    return None


# -- Retry-After -----------------------------------------------------------------------


def parse_retry_after_s(value: str | None, *, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` value (delay-seconds or an HTTP-date) as seconds from ``now_s``.

    ``now_s``: epoch seconds (None: ``time.time()``). None when the value is absent,
    blank or unreadable; never negative.
    """
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" zone: HTTP-dates are always UTC (RFC 9110)
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now_s is None else now_s)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def retry_after_ms(headers: Mapping[str, str] | None, now_s: float | None = None) -> int | None:
    """The ``Retry-After`` header of ``headers`` in whole milliseconds (rounded up), or None."""
    seconds = parse_retry_after_s(header(headers, "Retry-After"), now_s=now_s)
    return None if seconds is None else math.ceil(seconds * 1000)


# -- waiting before a retry --------------------------------------------------------------


def backoff_ms(
    attempt: int, *, base_ms: int, cap_ms: int, rand: Callable[[], float] = random.random
) -> int:
    """Full-jitter backoff after failed attempt ``attempt`` (0-based), in whole ms.

    ``rand() * min(cap_ms, base_ms * 2**attempt)``; ``rand`` returns a float in
    [0, 1); the result is in [0, cap_ms].
    """
    ceiling = min(cap_ms, base_ms * 2 ** min(max(attempt, 0), _MAX_EXPONENT))
    return max(0, min(cap_ms, int(rand() * ceiling)))


def wait_ms(
    hint_ms: float | None,
    attempt: int,
    *,
    base_ms: int,
    cap_ms: int,
    rand: Callable[[], float] = random.random,
) -> int:
    """The wait before retrying failed attempt ``attempt`` (0-based), in ms, never above
    ``cap_ms``: the server's ``hint_ms`` when given (a longer hint is cut to the cap),
    else ``backoff_ms``."""
    if hint_ms is not None:
        return max(0, min(cap_ms, math.ceil(hint_ms)))
    return backoff_ms(attempt, base_ms=base_ms, cap_ms=cap_ms, rand=rand)


# -- was the request sent ----------------------------------------------------------------


def may_have_arrived(exc: BaseException) -> bool:
    """False only when the failure surely came before the request left; else True."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        # requests wraps urllib3's MaxRetryError(reason=NewConnectionError) for refused
        # or unresolvable hosts; a dropped answer arrives as a ProtocolError.
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        return not isinstance(cause, NewConnectionError | ConnectTimeoutError)
    return True


# -- X-RateLimit-* -----------------------------------------------------------------------

_RATE_LIMIT_NAMES = {
    "x-ratelimit-max": "max_requests",
    "x-ratelimit-remaining": "remaining",
    "x-ratelimit-interval-milliseconds": "interval_ms",
    "x-ratelimit-limit-daily": "daily_limit",
    "x-ratelimit-daily-remaining": "daily_remaining",
}
# A limit or window of 0 would mean "nothing ever allowed": treat it as garbage.
_POSITIVE = {"max_requests", "interval_ms", "daily_limit"}


@dataclass(frozen=True)
class RateLimitHeaders:
    """What the server said about the budget; every field None when absent or unreadable.

    ``max_requests``: requests per window (>= 1). ``remaining``: left in the
    window (>= 0). ``interval_ms``: the window in milliseconds (>= 1).
    ``daily_limit``: requests per day (>= 1). ``daily_remaining``: left today (>= 0).
    """

    max_requests: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None


#: Header name as sent -> its field ("": not a rate-limit header), filled as names are
#: met: a server sends the same few names on every answer, so each name is stripped and
#: lowered once, not on every answer (a tenth of a GHL call's CPU, issue 12). Bounded:
#: past ``_NAME_MEMO_MAX`` names (a server inventing names) the rest are read uncached.
_FIELD_OF_NAME: dict[str, str] = {}
_NAME_MEMO_MAX = 512


def rate_limit_headers(headers: Mapping[str, str] | None) -> RateLimitHeaders:
    """Read the five ``X-RateLimit-*`` headers, names in any case; missing or garbage
    values give None."""
    if not headers:
        return RateLimitHeaders()
    # requests' CaseInsensitiveDict: its lowered names, without a look-up per name
    lower_items = getattr(headers, "lower_items", None)
    found: dict[str, int] = {}
    for name, raw in (lower_items() if lower_items is not None else headers.items()):
        field = _FIELD_OF_NAME.get(name)
        if field is None:
            field = _RATE_LIMIT_NAMES.get(str(name).strip().lower(), "")
            if len(_FIELD_OF_NAME) < _NAME_MEMO_MAX:
                _FIELD_OF_NAME[name] = field
        if not field:
            continue
        text = str(raw).strip()  # a whole number: ASCII digits only (no sign, no point)
        if text.isascii() and text.isdigit() and (field not in _POSITIVE or int(text) > 0):
            found[field] = int(text)
    return RateLimitHeaders(**found)


# -- sessions ----------------------------------------------------------------------------

def ca_bundle_from_env() -> str | None:
    """The CA bundle requests honours from the environment (``REQUESTS_CA_BUNDLE``, else
    ``CURL_CA_BUNDLE``; a file or a directory), None when neither is set."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def pooled_session(*, base_url: str, pool_maxsize: int,
                   pool_connections: int) -> requests.Session:
    """A session for requests to ``base_url``'s host, keeping up to ``pool_maxsize``
    connections alive per host, for up to ``pool_connections`` hosts, with no retries
    of its own.

    The environment is read once, here, not on every request: while ``trust_env`` is
    on, requests looks up the proxy variables (``getproxies_environment`` walks all of
    ``os.environ``), ``~/.netrc`` and ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` for
    each request (``Session.merge_environment_settings``, ``Session.prepare_request``),
    a few per cent of a worker's CPU. So the proxy for ``base_url`` (``HTTP(S)_PROXY``,
    ``ALL_PROXY``, none when ``NO_PROXY`` names the host: ``get_environ_proxies``) and
    the CA bundle are resolved now, given to the session explicitly, and ``trust_env``
    is off. A process changing these variables later needs a new session (a restart).
    ``~/.netrc`` is no longer read: our clients send their own credentials, which a
    netrc entry would have replaced (requests lets netrc auth override the header)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_maxsize,
                          max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    proxies = requests.utils.get_environ_proxies(base_url)
    session.proxies = {scheme: url for scheme, url in proxies.items() if scheme != "no"}
    ca_bundle = ca_bundle_from_env()
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False
    return session
