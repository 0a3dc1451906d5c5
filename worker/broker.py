"""kombu's Redis transport with a durable pop: a worker killed at any instant loses no
message (guarantee 1). Celery selects it with ``broker_transport`` (worker/celery.py);
``REDIS_URL`` is unchanged.

kombu's transport takes a message with ``BRPOP`` and records it in its ``unacked``
hash only after the worker has read Redis's answer (kombu/transport/redis.py,
``Channel._brpop_read`` then ``QoS.append``): a SIGKILL in between lost it. Here:

- ``_brpop_start`` sends ``BRPOPLPUSH queue processing`` instead of ``BRPOP``
  (works on every Redis, the embedded one of ``toky-ghl run`` included): Redis moves
  the message into this consumer's processing list (``worker.broker_processing``);
- ``QoS.append`` records it in ``unacked`` with one script that also removes it from
  the processing list (``CLAIM_LUA``): both or neither. If a sweep took it back
  meanwhile (this consumer was thought dead), the message is not delivered here;
- ``QoS.restore_visible`` (kombu's periodic sweep of ``unacked``) also runs the
  sweep of dead consumers' processing lists (``restore_dead``).

The same number of Redis commands per message as kombu's: BRPOPLPUSH for BRPOP, and
EVALSHA + LREM + ZADD + HSET for MULTI + ZADD + HSET + EXEC.

``BRPOPLPUSH`` takes ONE source list, while kombu pops every (queue × priority step):
this transport consumes one queue and no priorities (``priority_steps=[0]``) and
refuses any other configuration at start-up, naming it.
"""

from __future__ import annotations

import os
import secrets
import socket
from queue import Empty
from time import monotonic, time
from typing import Any, cast

import redis
import structlog
from kombu.exceptions import KombuError
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from worker import broker_processing as bp

log = structlog.get_logger("toky_ghl.broker")

#: Longest life of a consumer's ``alive`` key (s): a message caught between the pop
#: and its record by a killed worker comes back at most this long (plus a sweep
#: interval) after the kill. Shorter with a short visibility timeout.
ALIVE_TTL_MAX_S = 30


class DurablePopConfigError(KombuError):
    """The transport was configured with more than the one list BRPOPLPUSH can pop."""


class PopTakenBack(Exception):
    """A sweep put the popped message back on the queue before this consumer recorded it."""


def alive_ttl_s(visibility_timeout_s: float) -> int:
    """How long a consumer's ``alive`` key lives: a third of the visibility timeout,
    3 to ``ALIVE_TTL_MAX_S`` seconds (refreshed every third of it)."""
    return int(max(3, min(ALIVE_TTL_MAX_S, visibility_timeout_s // 3)))


class QoS(kombu_redis.QoS):
    @property
    def durable(self) -> Channel:
        return cast(Channel, self.channel)

    def append(self, message: Any, delivery_tag: str) -> None:
        pending = self.durable.take_pending_pop()
        if pending is None:  # not popped by this channel's BRPOPLPUSH (basic_get)
            super().append(message, delivery_tag)
            return
        processing, raw = pending
        delivery = message.delivery_info
        entry = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        gp = self.durable.global_keyprefix
        try:
            claimed = self.durable.claim_script(
                keys=[processing, gp + self.unacked_index_key, gp + self.unacked_key],
                args=[raw, time(), delivery_tag, entry])
        except Exception:
            # Unknown whether the claim ran (e.g. the connection broke): if it did not,
            # the message stays in this consumer's list, which no sweep touches while
            # the consumer lives. Take a new identity: the old list's alive key expires
            # and a sweep gives the message back (or finds it in unacked: not doubled).
            self.durable.new_identity()
            raise
        if not claimed:
            raise PopTakenBack(delivery_tag)
        virtual.QoS.append(self, message, delivery_tag)

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        super().restore_visible(start=start, num=num, interval=interval)
        self.durable.maybe_sweep_processing()


class Channel(kombu_redis.Channel):
    QoS = QoS
    #: one list to pop from: the queue itself (every priority maps to it)
    priority_steps = [0]
    # set by kombu's untyped __init__ (kombu/transport/redis.py), used here
    _queue_cycle: Any
    connection_errors: Any
    global_keyprefix: str
    visibility_timeout: int
    _fanout_queues: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if list(self.priority_steps) != [0]:
            raise DurablePopConfigError(
                f"broker transport option priority_steps={self.priority_steps!r}: the "
                "durable pop (worker.broker) pops one list per queue; use [0]")
        self.new_identity()
        self.alive_ttl_s = alive_ttl_s(self.visibility_timeout)
        self._swept_at = float("-inf")
        self._pending_pop: tuple[str, bytes] | None = None
        self._pop_queue: str | None = None
        self.claim_script = self.plain_client.register_script(bp.CLAIM_LUA)

    def new_identity(self) -> None:
        """A consumer id (host, pid, random token) naming this channel's processing list;
        a new one leaves the old list to the sweep once its alive key expires."""
        self.consumer_id = (f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
                            .replace(":", "_"))
        self._alive_at = float("-inf")

    @property
    def plain_client(self) -> redis.Redis:
        """A client on the channel's pool that does not prefix keys: the scripts here
        take full key names (kombu's prefixing client prefixes one EVALSHA key only).
        One per pool (a client over a pool is thread-safe; making one costs CPU)."""
        pool = self.pool
        kept = self.__dict__.get("_plain_client")
        if kept is None or kept[0] is not pool:
            kept = self.__dict__["_plain_client"] = (pool, redis.Redis(connection_pool=pool))
        return cast(redis.Redis, kept[1])

    def _create_client(self, asynchronous: bool = False) -> Any:
        """kombu makes a new client object for every acknowledgement and every event
        published (``conn_or_acquire``): about 6 % of a worker's CPU (``bench/pipeline.py
        --profile``). A client over a connection pool is thread-safe and holds no
        connection of its own, so the channel keeps one per pool (a new pool, after a
        reconnection, gets a new client)."""
        base: Any = super()  # (kombu's stubs do not declare _create_client)
        if asynchronous:
            return base._create_client(asynchronous=True)
        pool = self.pool
        kept = self.__dict__.get("_sync_client")
        if kept is None or kept[0] is not pool:
            kept = self.__dict__["_sync_client"] = (pool, base._create_client())
        return kept[1]

    def processing_key(self, queue: str) -> str:
        return bp.processing_key(self.global_keyprefix, queue, self.consumer_id)

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        others = [q for q in self.active_queues if q != queue]
        if others and queue not in self._fanout_queues:
            raise DurablePopConfigError(
                f"worker consumes queues {[*others, queue]!r}: the durable pop "
                "(worker.broker) takes one queue per worker process")
        return super().basic_consume(queue, *args, **kwargs)

    def take_pending_pop(self) -> tuple[str, bytes] | None:
        pending, self._pending_pop = self._pending_pop, None
        return pending

    def _refresh_alive(self, queue: str) -> None:
        """Before popping: this consumer is alive (and its list registered) for
        ``alive_ttl_s``; refreshed when a third of it has passed, not per message."""
        now = monotonic()
        if now - self._alive_at < self.alive_ttl_s / 3:
            return
        processing = self.processing_key(queue)
        pipe = self.plain_client.pipeline(transaction=False)
        pipe.set(bp.alive_key(processing), self.consumer_id, ex=self.alive_ttl_s)
        pipe.sadd(bp.registry_key(self.global_keyprefix), processing)
        pipe.execute()
        self._alive_at = now

    def _brpop_start(self, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = self.brpop_timeout
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        (queue,) = queues  # basic_consume allows one
        self._refresh_alive(queue)
        self._pop_queue = queue
        client: Any = self.client
        self._in_poll = client.connection
        self._brpop_sent_at = monotonic()
        client.connection.send_command("BRPOPLPUSH", self.global_keyprefix + queue,
                                       self.processing_key(queue), timeout or 0)

    def _brpop_read(self, **options: Any) -> bool:
        client: Any = self.client
        try:
            try:
                item = client.parse_response(client.connection, "BRPOPLPUSH", **options)
            except self.connection_errors:
                client.connection.disconnect()
                raise
            if not item:
                raise Empty()
            queue = cast(str, self._pop_queue)
            processing = self.processing_key(queue)
            self._pending_pop = (processing, item)
            try:
                self.connection._deliver(loads(bytes_to_str(item)), queue)
            except PopTakenBack as taken:
                log.warning("popped message was put back on the queue by a sweep before "
                            "this worker recorded it; not delivered here",
                            delivery_tag=str(taken))
                raise Empty() from None
            finally:
                left = self.take_pending_pop()
                if left is not None:
                    # delivered without being recorded (an acknowledgement-free
                    # consumer), or delivery failed before recording: as kombu does
                    # with a popped message, it is not kept.
                    self.plain_client.lrem(processing, -1, item)
            return True
        finally:
            self._in_poll = None
            cast(Any, self)._flush_brpop_reauth()

    def _poll_error(self, type: str, **options: Any) -> None:
        if type == "BRPOP":
            client: Any = self.client
            client.parse_response(client.connection, "BRPOPLPUSH")
        else:
            cast(Any, super())._poll_error(type, **options)

    def maybe_sweep_processing(self) -> None:
        """Restore dead consumers' processing lists, at most every third of the alive
        TTL (kombu calls ``restore_visible`` on every idle poll)."""
        now = monotonic()
        if now - self._swept_at < self.alive_ttl_s / 3:
            return
        self._swept_at = now
        try:
            restored = bp.restore_dead(self.plain_client, self.global_keyprefix)
        except self.connection_errors:
            return  # the polling loop reconnects; next sweep retries
        if restored:
            log.warning("messages popped by stopped workers put back on the queue",
                        count=restored)


class Transport(kombu_redis.Transport):
    Channel = Channel


def broker_ssl_options(redis_url: str) -> dict[str, object]:
    """Celery's ``broker_use_ssl`` for a ``rediss://`` URL without ``ssl_*`` options: kombu
    turns TLS on by the scheme only for its own transport name, so it is said here, with
    certificates verified as redis-py does for the app's other connections."""
    import ssl
    from urllib.parse import parse_qs, urlparse

    parsed = urlparse(redis_url)
    if parsed.scheme != "rediss" or any(k.startswith("ssl_") for k in parse_qs(parsed.query)):
        return {}
    return {"broker_use_ssl": {"ssl_cert_reqs": ssl.CERT_REQUIRED}}
