"""Errors of the GHL client: one root, one leaf per kind of answer, one mapping function.

Every error names the call (``method`` and ``path``, the path without its query
string) and carries GHL's own message. None of them ever holds the token or the
request headers: only the answer's status, parsed body and headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from clients.http_policy import header, may_have_arrived, rate_limit_headers, retry_after_ms
from toky_ghl.logs import scrub

#: Headers that may carry an id for the request, first found wins. GHL's own
#: request-id header is UNCONFIRMED (not in the official spec): these are guesses.
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Trace-Id", "Request-Id", "CF-Ray")

#: Answer headers never kept on an error (they may carry session material).
_DROPPED_HEADERS = frozenset({"set-cookie", "authorization", "proxy-authorization", "cookie"})


class Answer(Protocol):
    """An HTTP answer, body read: a ``requests.Response`` or ``clients.ghl.wire``'s
    ``WireAnswer``."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...
    def json(self) -> Any: ...


def _rebuild(cls: type[GhlError], state: dict[str, Any]) -> GhlError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, state.get("message", ""))
    return error


class GhlError(Exception):
    """Root of every GHL client error.

    ``status`` is the HTTP status (None when no answer came, e.g. a timeout or a
    refusal before sending). ``message`` is GHL's message (a list message joined
    with "; ", each part kept in ``messages``). ``body`` is the parsed JSON body
    or None. ``headers`` are the answer's headers (empty when no answer).
    """

    def __init__(
        self,
        message: str | list[str] | None = None,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.messages = _messages(message)
        self.message = "; ".join(self.messages)
        self.status = status
        self.method = method.upper() if method else None
        self.path = _path_only(path)
        self.body = _scrub_json(body)
        self.headers = {
            str(k): str(v) for k, v in (headers or {}).items()
            if str(k).lower() not in _DROPPED_HEADERS
        }
        self.request_id = request_id or _request_id(self.headers) or _trace_id(body)
        super().__init__(self.message)

    def _label(self) -> str:
        return f"GHL {self.status}" if self.status is not None else "GHL error"

    def __str__(self) -> str:
        where = f" on {self.method} {self.path}" if self.method and self.path else ""
        return f"{self._label()}{where}: {self.message or 'no message'}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, method={self.method!r}, "
            f"path={self.path!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickle's default (cls(*args));
        # Celery's prefork pool pickles task exceptions, so rebuild from state.
        return (_rebuild, (type(self), dict(self.__dict__)))


class GhlAuthError(GhlError):
    """401: the token is invalid or expired. Refresh or reload it once, then dead-letter."""


class GhlScopeError(GhlAuthError):
    """Refused BEFORE sending: ``GHL_SCOPES`` lacks ``scope``, which the call needs."""

    def __init__(self, scope: str, *, method: str, path: str) -> None:
        where = f"{method.upper()} {_path_only(path)}"
        super().__init__(f"GHL_SCOPES lacks {scope}, needed for {where}", method=method, path=path)
        self.scope = scope

    def __str__(self) -> str:
        return self.message


class GhlTokenScopeError(GhlAuthError):
    """401 whose message names a scope: the token lacks a scope the call needs. A
    refresh does not grant scopes, so no refresh is tried (``worker.auth.decide``)."""


class GhlPermissionError(GhlError):
    """403: the token may not touch this location or resource."""


class GhlNotFoundError(GhlError):
    """404, or a 400 saying a contact, task, note or appointment was not found: the
    object (or the route) does not exist."""


class GhlValidationError(GhlError):
    """400 or 422: GHL refused the request as written. Never retried."""


class GhlDuplicateContactError(GhlValidationError):
    """400 with ``meta.contactId``: the location refuses a duplicate of ``contact_id``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        meta = self.body.get("meta") if isinstance(self.body, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        self.contact_id: str | None = meta.get("contactId")
        self.matching_field: str | None = meta.get("matchingField")


class GhlRateLimitedError(GhlError):
    """429 from GHL (``from_server=True``), or the shared limiter asked for a long wait.

    ``retry_after_ms``: how long to wait, in ms (``Retry-After``, or the local
    limiter's wait); None when nobody said. ``interval_ms``: the server's burst
    window from ``X-RateLimit-Interval-Milliseconds``, None when absent.
    ``daily``: the day's budget is spent (the wait runs to the next UTC midnight).
    """

    def __init__(
        self,
        message: str | list[str] | None = None,
        *,
        retry_after_ms: int | None = None,
        from_server: bool = True,
        interval_ms: int | None = None,
        daily: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_ms = retry_after_ms
        self.from_server = from_server
        self.interval_ms = interval_ms
        self.daily = daily

    def _label(self) -> str:
        return super()._label() if self.from_server else "GHL rate limit (local)"


class GhlServerError(GhlError):
    """5xx: GHL failed. Retried with backoff."""


class GhlConnectionError(GhlError):
    """No usable answer: connect error, timeout, or a broken answer.

    ``maybe_sent`` is False when the request surely never reached GHL (connect
    error, connect timeout, TLS handshake), True when it may have had effects
    (read timeout, connection dropped mid-answer, unreadable answer).
    """

    def __init__(self, message: str | None = None, *, maybe_sent: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent

    def _label(self) -> str:
        return "GHL connection error"


def _messages(message: Any) -> list[str]:
    if message is None:
        return []
    if isinstance(message, list | tuple):
        return [scrub(str(m)) for m in message if m is not None and str(m) != ""]
    text = scrub(str(message))
    return [text] if text else []


def _scrub_json(value: Any) -> Any:
    """``value`` with every known secret scrubbed from its strings (GHL may echo input)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _path_only(path: str | None) -> str | None:
    if not path:
        return path
    return urlsplit(path).path or path.split("?", 1)[0]


def _request_id(headers: Mapping[str, str]) -> str | None:
    """The first request-id-like header of the answer, or None."""
    return next((v for v in (header(headers, n) for n in REQUEST_ID_HEADERS) if v), None)


def _trace_id(body: Any) -> str | None:
    value = body.get("traceId") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


def _json_or_none(response: Answer) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


_BY_STATUS: dict[int, type[GhlError]] = {
    400: GhlValidationError,
    401: GhlAuthError,
    403: GhlPermissionError,
    404: GhlNotFoundError,
    422: GhlValidationError,
}


#: A 400 that means "no such object" (contacts, tasks, notes, appointments). GHL's
#: spec (apps/contacts.json, apps/calendars.json) lists no 404 for
#: ``/contacts/{contactId}…`` nor ``/calendars/events/appointments/{eventId}``,
#: only 400; working clients report ``400 "Contact with id X not found"``
#: (reference/ghl-api.md, "Errors"). The wording for tasks, notes and
#: appointments is UNCONFIRMED: any message naming the object and "not found".
_NOT_FOUND_400 = re.compile(
    r"\b(contact|task|note|appointment|event)s?\b.{0,200}?\bnot\s+(be\s+)?found\b",
    re.IGNORECASE | re.DOTALL)


def _says_not_found(body: Any, messages: list[str]) -> bool:
    """True when a 400's ``message`` (or ``error``) says the object was not found."""
    texts = list(messages)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        texts.append(body["error"])
    return any(_NOT_FOUND_400.search(text[:1000]) for text in texts)


def error_from_response(response: Answer, method: str, path: str) -> GhlError:
    """The error for a non-2xx GHL answer (the one place mapping status to class)."""
    status = response.status_code
    body = _json_or_none(response)
    message: Any = body.get("message") if isinstance(body, dict) else None
    if message is None:
        message = response.reason or f"HTTP {status}"
    common: dict[str, Any] = {
        "status": status, "method": method, "path": path,
        "body": body, "headers": response.headers,
    }
    if status == 429:
        return GhlRateLimitedError(
            message, retry_after_ms=retry_after_ms(response.headers),
            interval_ms=rate_limit_headers(response.headers).interval_ms, from_server=True,
            **common,
        )
    if status >= 500:
        return GhlServerError(message, **common)
    if status == 400 and isinstance(body, dict) and isinstance(body.get("meta"), dict) \
            and body["meta"].get("contactId"):
        return GhlDuplicateContactError(message, **common)
    if status == 400 and _says_not_found(body, _messages(message)):
        return GhlNotFoundError(message, **common)
    if status == 401 and any("scope" in m.lower() for m in _messages(message)):
        return GhlTokenScopeError(message, **common)
    return _BY_STATUS.get(status, GhlError)(message, **common)


def error_from_exception(exc: requests.RequestException, method: str, path: str) -> GhlError:
    """The ``GhlConnectionError`` for a failure of ``requests`` itself (no answer);
    ``maybe_sent`` follows ``clients.http_policy.may_have_arrived``."""
    sent = may_have_arrived(exc)
    note = "the request may have reached GHL" if sent else "the request was not sent"
    return GhlConnectionError(
        f"{type(exc).__name__} ({note})", maybe_sent=sent, method=method, path=path
    )
