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


def make_server(app: Callable, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                threads: int = DEFAULT_THREADS, max_body_bytes: int = 262_144) -> Any:
    """A waitress server for ``app`` (not started: call ``.run()``); port 0 picks a free one.

    No access log (waitress writes none); tracebacks never reach the client.
    """
    return create_server(
        app, host=host, port=port, threads=threads, ident="toky-ghl-webhook",
        max_request_body_size=max(max_body_bytes * SERVER_BODY_FACTOR, 1 << 20),
        expose_tracebacks=False, clear_untrusted_proxy_headers=True,
    )
