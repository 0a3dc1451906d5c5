"""Listening on a port: a busy one is a usage error naming the address, not a traceback."""

from __future__ import annotations

import socket

from toky_ghl.errors import UsageError


def busy_port(host: str, port: int, exc: OSError) -> UsageError:
    """The error a command reports when it cannot listen on ``host:port``."""
    reason = exc.strerror or str(exc)
    return UsageError(f"cannot listen on {host}:{port}: {reason} "
                      "(another process uses it? choose another with --port)")


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``UsageError`` when ``host:port`` cannot be listened on now (checked by binding
    it, with SO_REUSEADDR as Tornado and waitress do, then letting it go)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            raise busy_port(host, port, exc) from None
