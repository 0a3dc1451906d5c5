"""Shared fixtures.

Real services: tests marked ``integration`` need a real Redis at
``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``; the database is
flushed by the tests, so never point it at data you keep). Locally they are
skipped when no Redis answers; in CI (``CI`` set) they FAIL instead.
"""

from __future__ import annotations

import logging
import os

import pytest
import redis
import structlog

from toky_ghl.settings import get_settings

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a real, flushed Redis database (fails in CI if none answers)."""
    if not _redis_answers(TEST_REDIS_URL):
        message = f"no Redis answers at {TEST_REDIS_URL}"
        if IN_CI:
            pytest.fail(f"{message}: integration tests are required in CI")
        pytest.skip(f"{message} (skipped locally only; required in CI)")
    return TEST_REDIS_URL


@pytest.fixture
def real_redis(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch):
    """Every test reads settings anew from its own environment."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _restore_logging():
    """Commands configure structlog and the root logger; put both back after every
    test so that no test sees another's logging set-up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
