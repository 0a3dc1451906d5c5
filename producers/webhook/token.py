"""The webhook secret: taken out of the request before anything else sees it, compared
in constant time.

Toky cannot add headers, so the secret usually travels in the URL
(``?token=...``). ``HideToken`` is WSGI middleware that moves it (and the
``X-Webhook-Token`` header) out of the request environment, so no access log,
error page or log line downstream (Flask's, waitress's, ours) can print it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

TOKEN_PARAM = "token"
TOKEN_HEADER = "X-Webhook-Token"
#: Where ``HideToken`` leaves the tokens it took (a list of strings).
ENVIRON_KEY = "toky_ghl.webhook_tokens"
_HEADER_ENVIRON = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")


class HideToken:
    """WSGI middleware: takes ``token`` out of the query string (``QUERY_STRING``,
    ``REQUEST_URI``, ``RAW_URI``) and the ``X-Webhook-Token`` header, and puts them
    in ``environ[ENVIRON_KEY]``.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING") or ""
        pairs = parse_qsl(query, keep_blank_values=True)  # "token=" is a token too (empty)
        tokens = [v for k, v in pairs if k == TOKEN_PARAM]
        kept = [(k, v) for k, v in pairs if k != TOKEN_PARAM]
        if len(kept) != len(pairs) or TOKEN_PARAM in query:
            new_query = urlencode(kept)
            environ["QUERY_STRING"] = new_query
            for key in ("REQUEST_URI", "RAW_URI"):
                if key in environ:
                    path = str(environ[key]).partition("?")[0]
                    environ[key] = f"{path}?{new_query}" if new_query else path
        header = environ.pop(_HEADER_ENVIRON, None)
        if header is not None:
            tokens.append(header)
        environ[ENVIRON_KEY] = tokens
        return self.app(environ, start_response)


#: The shortest WEBHOOK_SECRET the receiver starts with (it is guessable by anyone who can
#: reach the URL: 24 characters of ``secrets.token_urlsafe`` are 144 bits).
MIN_SECRET_CHARS = 24


def check_secret(secret: str | None) -> str | None:
    """None when ``secret`` may guard the receiver; else why not, naming WEBHOOK_SECRET."""
    if not secret or not secret.strip():
        return "WEBHOOK_SECRET must be set: the receiver refuses to start without it"
    if len(secret) < MIN_SECRET_CHARS:
        return (f"WEBHOOK_SECRET is {len(secret)} characters long; it must have at least "
                f"{MIN_SECRET_CHARS} (make one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')")
    return None


def check_tokens(tokens: list[str], secret: str) -> str | None:
    """None when the request carried exactly one token and it is the secret; else why not:
    ``"missing"``, ``"several"`` (one request is one guess: 2,000 ``token=`` values would
    be 2,000) or ``"wrong"``. Compared with ``hmac.compare_digest``, so timing tells nothing.
    """
    sent = [t for t in tokens if t]
    if not sent:
        return "missing"
    if len(tokens) > 1:
        return "several"
    return None if hmac.compare_digest(sent[0].encode(), secret.encode()) else "wrong"
