"""The worker's per-event Redis commands, sent on a connection without redis-py's
per-command layers.

Each ``Redis.execute_command`` of redis-py 8 costs ~40 µs of CPU here, a pipeline of
three ~80 µs, against ~10 µs for sending the same packed command on a connection and
reading its reply (``bench/redis_direct.py``): the pool's checkout and return (a lock,
a ``poll`` of the socket, observability counters), retry closures, dispatch, reply
callbacks. A delivery sends four to six of them (its begin and end scripts, the id
map's and the mirror's writes): issue 12's profile had redis-py at 16 % of the
worker's CPU.

``Direct`` keeps a free list of connections made as the client's pool makes them (its
connection class and arguments: address, password, TLS, timeouts, health checks, retry
policy) and sends each command, or each batch, in one write. What stays as with
``execute_command``:

- redis-py's connection does the rest: connect, AUTH/SELECT, the health check PING of
  an idle connection, socket timeouts, the reply parser and its error classes
  (``ResponseError``, ``NoScriptError``, ...);
- retries: the connection's ``Retry`` (none for a client made by ``from_url``, as
  ours are; else the client's policy), the connection dropped before each new try; a
  batch is sent again whole, as redis-py's pipeline is;
- a connection taken from the free list is polled first, as the pool's checkout does:
  one Redis closed while idle (a restart, its ``timeout``) is connected anew;
- a connection goes back to the free list only after a whole exchange, every reply
  read; an error within one disconnects it (redis-py's send and read do), so no one
  reads another's reply;
- fork: connections of another process are dropped, never used;
- a client that is not a plain ``redis.Redis`` over a ``ConnectionPool`` (a client
  bound to one connection, a pipeline) is sent ``execute_command`` as before.

Replies are raw (no reply callbacks): what a script answers, ``HSET``'s count.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, cast
from weakref import WeakKeyDictionary, proxy

import hiredis
import redis
from redis.commands.core import Script
from redis.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError
from redis.typing import EncodableT

Command = Sequence[EncodableT]


def _pack(commands: Sequence[Command]) -> list[bytes]:
    """``commands`` in the protocol, in one buffer: what redis-py's connection packs with
    hiredis (a dependency of ours), without its per-argument conversions (ours are str,
    bytes and int). (``cast``: hiredis's stub types the tuple as of one item.)"""
    return [b"".join([hiredis.pack_command(cast(Any, tuple(command))) for command in commands])]


_DIRECT: WeakKeyDictionary[redis.Redis, Direct] = WeakKeyDictionary()
_ADDING = threading.Lock()


class Direct:
    """Commands for one client's Redis on connections of its kind (see the module)."""

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        plain = type(pool) is redis.ConnectionPool and getattr(client, "connection", None) is None
        #: None: send through ``execute_command`` (see the module)
        self._pool = pool if plain else None
        self._client = None if plain else proxy(client)  # (weak: the key of _DIRECT)
        self._free: list[AbstractConnection] = []
        self._pid = os.getpid()

    def _take(self) -> AbstractConnection:
        if self._pid != os.getpid():  # forked: the free list holds the parent's sockets
            self._free, self._pid = [], os.getpid()
        try:
            conn = self._free.pop()  # (atomic: threads share the list safely)
        except IndexError:
            assert self._pool is not None
            made: AbstractConnection = self._pool.connection_class(**self._pool.connection_kwargs)
            return made
        try:  # closed by Redis while idle (a restart, a timeout): connect anew on send,
            stale = conn.can_read()  # as the pool's checkout does (a poll, ~2 µs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            stale = True
        if stale:
            conn.disconnect()
        return conn

    def _exchange(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` in one write and read their replies; a reply that is an
        error is returned as the exception (all replies are read)."""
        conn = self._take()
        packed = _pack(commands)

        def once() -> list[Any]:
            conn.send_packed_command(packed)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except ResponseError as error:  # read whole: the connection stays in step
                    replies.append(error)
            return replies

        try:
            replies: list[Any] = conn.retry.call_with_retry(once, lambda _e: conn.disconnect())
        except BaseException:
            conn.disconnect()  # (already, unless the error came between two reads)
            raise
        self._free.append(conn)
        return replies

    def call(self, *args: EncodableT) -> Any:
        """One command's raw reply; an error reply raises (``ResponseError``)."""
        if self._pool is None:
            assert self._client is not None
            return self._client.execute_command(*args)
        reply = self._exchange((args,))[0]
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def calls(self, *commands: Command) -> list[Any]:
        """The raw replies of ``commands``, sent in one round trip (not a transaction);
        an error reply raises the first once all are read, as redis-py's pipeline."""
        if self._pool is None:
            assert self._client is not None
            with self._client.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                answered: list[Any] = pipe.execute()
                return answered
        replies = self._exchange(commands)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    def run(self, script: Script, keys: Sequence[EncodableT], args: Sequence[EncodableT]) -> Any:
        """``script``'s answer (``EVALSHA``; loaded first when Redis does not know it,
        as ``Script.__call__``)."""
        evalsha = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return self.call(*evalsha)
        except NoScriptError:
            self.call("SCRIPT", "LOAD", script.script)  # (its SHA1 is script.sha)
            return self.call(*evalsha)


def direct(client: redis.Redis) -> Direct:
    """The ``Direct`` of ``client`` (made on first use; kept while the client lives)."""
    found = _DIRECT.get(client)
    if found is None:
        with _ADDING:  # (WeakKeyDictionary's writes are not atomic across threads)
            found = _DIRECT.setdefault(client, Direct(client))
    return found
