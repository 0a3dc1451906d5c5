"""The one place that makes Redis connections from ``REDIS_URL``, and that says
so, the same way for every command, when Redis cannot be reached."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.typing import EncodableT, FieldT

from toky_ghl.errors import RedisUnreachable
from toky_ghl.settings import get_settings

#: redis-py's errors that mean "no answer from that Redis" (refused, timed out, wrong
#: password: ``AuthenticationError`` is a ``ConnectionError``).
UNREACHABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30, socket_keepalive=True)


def get_redis(url: str | None = None) -> redis.Redis:
    """A shared (pooled, thread-safe) client for ``url`` or the configured ``REDIS_URL``."""
    return _client(url or get_settings().redis_url)


def masked_url(url: str) -> str:
    """``url`` fit to show: its password (``redis://user:PW@host``, ``?password=PW``) is ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # an unreadable URL: show its scheme only
        return url.partition("://")[0] + "://***"
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
        if parts.port is not None:
            netloc += f":{parts.port}"
    query = parts.query
    if "password" in query.lower():
        query = urlencode([(k, "***" if k.lower() == "password" else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def unreachable(url: str, exc: BaseException) -> RedisUnreachable:
    """The error every command reports when the Redis at ``url`` does not answer."""
    from toky_ghl.logs import scrub

    return RedisUnreachable(f"cannot reach Redis (REDIS_URL={masked_url(url)}): {scrub(str(exc))}")


def require_redis(url: str | None = None) -> redis.Redis:
    """The configured Redis after it answered a PING; else ``RedisUnreachable``
    (the CLI prints it and exits 2)."""
    url = url or get_settings().redis_url
    client = get_redis(url)
    try:
        client.ping()
    except UNREACHABLE_ERRORS as exc:
        raise unreachable(url, exc) from None
    return client


def text(raw: bytes | str) -> str:
    """A Redis reply as text: our clients answer bytes, redis-py's types say either."""
    return raw.decode() if isinstance(raw, bytes) else raw


#: ``ZRANGE ... WITHSCORES``'s answer as our clients give it (redis-py's types say more).
Scored = list[tuple[bytes, float]]
#: What ``HSET ... mapping=`` takes (redis-py's key type is invariant: a dict[str, str]
#: does not pass as it is).
HashFields = Mapping[FieldT, EncodableT]
