"""Serve a WSGI app on loopback with waitress, in a background thread or in the foreground."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from waitress.server import create_server


@dataclass
class RunningServer:
    """A WSGI server running in a daemon thread; ``url`` has no trailing slash."""

    url: str
    port: int
    _server: Any
    _thread: threading.Thread
    stopping: threading.Event

    def stop(self) -> None:
        self.stopping.set()
        self._server.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bound_port(server: object) -> int:
    """The port waitress bound (its servers set ``effective_port``; types-waitress lacks it)."""
    return int(server.effective_port)  # type: ignore[attr-defined]


def serve_in_thread(
    app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0, threads: int = 32
) -> RunningServer:
    """Start ``app`` on ``host:port`` (0: a free port) and return at once."""
    server = create_server(app, host=host, port=port, threads=threads, ident="toky-ghl-sim")
    real_port = _bound_port(server)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # stop() closes the sockets under the loop's feet: expected then only.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name=f"wsgi-{real_port}", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{real_port}", real_port, server, thread, stopping)


def serve_forever(
    app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0, threads: int = 32,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` in the foreground until interrupted; ``on_ready(url)`` is called first."""
    server = create_server(app, host=host, port=port, threads=threads, ident="toky-ghl-sim")
    if on_ready:
        on_ready(f"http://{host}:{_bound_port(server)}")
    try:
        server.run()
    finally:
        server.close()
