"""Errors of the Toky client: one root, and one function from an HTTP answer to an error.

No error ever carries the API key: the key travels only in a header, and any
echo of it in Toky's answer is replaced by ``***`` before it reaches a message.
"""

from __future__ import annotations

from typing import Any

import requests

from clients.http_policy import may_have_arrived
from toky_ghl.logs import scrub
from toky_ghl.url_mask import REDACTED


class TokyError(Exception):
    """Root of every Toky client error.

    ``status`` is the HTTP status (None when no answer came), ``method`` and
    ``path`` the request (path and query without host; the key is never in
    them), ``retry_after_s`` Toky's ``Retry-After`` hint in seconds (None: none).
    """

    def __init__(
        self, message: str, *, status: int | None = None, method: str | None = None,
        path: str | None = None, retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else ""
        status = f"HTTP {self.status}" if self.status is not None else ""
        prefix = ", ".join(p for p in (where, status) if p)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, method={self.method!r}, "
            f"path={self.path!r}, message={self.message!r})"
        )


class TokyAuthError(TokyError):
    """401/403: the API key is wrong or lacks admin rights."""


class TokyNotFoundError(TokyError):
    """404: the object or path does not exist."""


class TokyValidationError(TokyError):
    """400/409/422: Toky refused the request as sent; retrying it will not help."""


class TokyConflictError(TokyValidationError):
    """409: the object already exists (a contact with that phone)."""


class TokyRateLimitedError(TokyError):
    """429: too many requests; ``retry_after_s`` is Toky's hint (None: no hint)."""


class TokyServerError(TokyError):
    """5xx: a fault on Toky's side; worth retrying later."""


class TokyConnectionError(TokyError):
    """No answer came. ``request_sent`` False: the request surely never arrived
    (``clients.http_policy.may_have_arrived``)."""

    def __init__(self, message: str, *, request_sent: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.request_sent = request_sent


_BY_STATUS: dict[int, type[TokyError]] = {
    400: TokyValidationError,
    401: TokyAuthError,
    403: TokyAuthError,
    404: TokyNotFoundError,
    409: TokyConflictError,
    422: TokyValidationError,
    429: TokyRateLimitedError,
}


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "errors"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


def _scrub(text: str, secret: str | None) -> str:
    """``text`` without the key, registered secrets or URL tokens (a hook URL's ``?token=``)."""
    return scrub(text.replace(secret, REDACTED) if secret else text)


def error_for_response(
    response: requests.Response, *, method: str, path: str, secret: str | None = None,
    retry_after_s: float | None = None,
) -> TokyError:
    """The error for a non-2xx answer; ``secret`` is removed from Toky's text.

    ``retry_after_s`` is the parsed ``Retry-After`` header, in seconds (None: none).
    """
    status = response.status_code
    cls = _BY_STATUS.get(status) or (TokyServerError if status >= 500 else TokyError)
    said = _scrub(_server_message(response), secret)
    kw: dict[str, Any] = {
        "status": status, "method": method, "path": path, "retry_after_s": retry_after_s,
    }
    if cls is TokyAuthError:
        message = (
            "Toky refused the API key: it is wrong or lacks admin rights "
            f"(check TOKY_API_KEY). Toky said: {said or response.reason}"
        )
        return cls(message, **kw)
    return cls(said or response.reason or f"HTTP {status}", **kw)


def error_for_exception(
    exc: requests.RequestException, *, method: str, path: str, secret: str | None = None
) -> TokyConnectionError:
    """The error for a request that got no answer (refused, reset, timed out)."""
    sent = may_have_arrived(exc)
    what = "no answer (the request may have arrived)" if sent else "could not connect"
    message = _scrub(f"{what}: {type(exc).__name__}: {exc}", secret)
    return TokyConnectionError(message, request_sent=sent, method=method, path=path)
