"""Serving the receiver with waitress (a production WSGI server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waitress.server import create_server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_THREADS = 8
#: waitress itself refuses bodies over this many times the app's limit (the app
#: answers 413 with a JSON body below that; waitress cuts off absurd ones early).
SERVER_BODY_FACTOR = 4
#: A connection silent this long is closed (waitress's default, 120 s, let 100 idle
#: sockets hold every slot and starve ``/healthz``); checked every ``CLEANUP_INTERVAL_S``.
CHANNEL_TIMEOUT_S = 10
CLEANUP_INTERVAL_S = 2
#: Open connections at most; more wait in the listen backlog (a bound on file descriptors).
CONNECTION_LIMIT = 200


def make_server(app: Callable[..., Any], *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                threads: int = DEFAULT_THREADS, max_body_bytes: int = 262_144) -> Any:
    """A waitress server for ``app`` (not started: call ``.run()``); port 0 picks a free one.

    No access log (waitress writes none); tracebacks never reach the client; idle
    connections are closed after ``CHANNEL_TIMEOUT_S``, at most ``CONNECTION_LIMIT`` open.
    """
    return create_server(
        app, host=host, port=port, threads=threads, ident="toky-ghl-webhook",
        max_request_body_size=max(max_body_bytes * SERVER_BODY_FACTOR, 1 << 20),
        expose_tracebacks=False, clear_untrusted_proxy_headers=True,
        channel_timeout=CHANNEL_TIMEOUT_S, cleanup_interval=CLEANUP_INTERVAL_S,
        connection_limit=CONNECTION_LIMIT,
    )
