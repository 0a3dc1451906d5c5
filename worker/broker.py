"""kombu's Redis transport with a durable pop: a worker killed at any instant loses no
message (guarantee 1), at two Redis commands a message. Celery selects it with
``broker_transport`` (worker/celery.py); ``REDIS_URL`` is unchanged.

kombu's transport takes a message with ``BRPOP`` and records it in its ``unacked``
hash only after the worker has read Redis's answer (kombu/transport/redis.py,
``Channel._brpop_read`` then ``QoS.append``): a SIGKILL in between lost it. Here the
consumer's processing list (``worker.broker_processing``) is the record instead:

- ``_brpop_start`` sends ``BRPOPLPUSH queue processing`` instead of ``BRPOP`` (works on
  every Redis, the embedded one of ``toky-ghl run`` included): Redis moves the message
  into this consumer's processing list, where it stays until it is settled;
- ``QoS.append`` sends nothing: it keeps (processing list, message as Redis gave it)
  per delivery tag in memory;
- ``QoS.ack`` (and ``reject`` without requeue) is one ``LREM``; an acknowledgement made
  on the event loop's thread (Celery's are) goes in the same write as the next pop, its
  answer read with the pop's (``Channel.defer_ack``); ``reject`` with requeue
  and ``restore_unacked`` (a warm shutdown, a channel closed) are one script each that
  removes the message and pushes it back on the queue only if it was there;
- the consumer's ``alive`` key is refreshed by a thread (``worker.broker_alive``), so a
  live worker's list is never swept, even when it pops nothing; a dead worker's list
  goes back on the queue by the other workers' sweep, run with kombu's periodic sweep
  (``QoS.restore_visible``), which also still gives back what ``unacked`` holds (left
  there by an earlier version, or by ``leave_unacknowledged``);
- a pop answered across a lapse of the ``alive`` key (the worker was frozen longer than
  its lifetime) is checked, in one script, to still be in the list before delivery: a
  sweep may have given it to another worker;
- a pop whose answer was lost (a connection broken) may have moved a message into the
  list unread: before the next pop, one script gives back what the consumer does not
  know it holds.

So per message: BRPOPLPUSH, then LREM; kombu's is BRPOP, then MULTI + ZADD + HSET + EXEC,
then MULTI + ZREM + HDEL + EXEC.

``BRPOPLPUSH`` takes ONE source list, while kombu pops every (queue × priority step):
this transport consumes one queue and no priorities (``priority_steps=[0]``) and
refuses any other configuration at start-up, naming it.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from queue import Empty
from time import monotonic, time
from typing import Any, cast

import redis
from kombu.exceptions import KombuError
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from toky_ghl.logs import get_logger
from toky_ghl.redis_direct import direct
from worker import broker_processing as bp
from worker.broker_alive import AliveKeeper

log = get_logger("toky_ghl.broker")

#: Longest life of a consumer's ``alive`` key (s): a killed worker's messages come back
#: at most this long (plus a sweep interval) after the kill. Shorter with a short
#: visibility timeout.
ALIVE_TTL_MAX_S = 30

#: (processing list, the message as Redis gave it): a popped message not yet settled.
Popped = tuple[str, bytes]


class DurablePopConfigError(KombuError):
    """The transport was configured with more than the one list BRPOPLPUSH can pop."""


def alive_ttl_s(visibility_timeout_s: float) -> int:
    """How long a consumer's ``alive`` key lives: a third of the visibility timeout,
    3 to ``ALIVE_TTL_MAX_S`` seconds (refreshed every third of it)."""
    return int(max(3, min(ALIVE_TTL_MAX_S, visibility_timeout_s // 3)))


class QoS(kombu_redis.QoS):
    _delivered: Any  # kombu's (an OrderedDict: delivery tag -> message)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: delivery tag -> where its message sits, for the messages this channel popped
        #: and has not settled (written by the consuming thread, removed by any).
        self._popped: dict[str, Popped] = {}

    @property
    def durable(self) -> Channel:
        return cast(Channel, self.channel)

    def append(self, message: Any, delivery_tag: str) -> None:
        pending = self.durable.take_pending_pop()
        if pending is None:  # not popped by this channel's BRPOPLPUSH (basic_get)
            super().append(message, delivery_tag)
            return
        self._popped[delivery_tag] = pending  # no Redis command: the list is the record
        virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        popped = self._popped.pop(delivery_tag, None)
        if popped is None:  # recorded in unacked (kombu's append)
            super().ack(delivery_tag)
            return
        if not self.durable.defer_ack(popped):
            self.durable.forget(popped)
        virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        popped = self._popped.pop(delivery_tag, None)
        if popped is None:
            super().reject(delivery_tag, requeue=requeue)
            return
        if requeue:  # at the head, taken last, as kombu's reject (restore_by_tag leftmost)
            self.durable.give_back(popped, leftmost=True)
        else:
            self.durable.forget(popped)
        virtual.QoS.ack(self, delivery_tag)

    def restore_unacked(self, client: Any = None) -> None:
        """What this channel holds goes back on the queue now (kombu calls this once,
        when the channel closes: a warm shutdown, a reconnection). A message Redis
        refuses to give back stays in the processing list: the sweep gives it back once
        the consumer's ``alive`` key is gone (``Channel.close`` deletes it)."""
        for tag in list(self._delivered):
            popped = self._popped.pop(tag, None)
            try:
                if popped is None:
                    with cast(Any, self.channel).conn_or_acquire(client) as conn:
                        self.restore_by_tag(tag, client=conn)
                else:
                    self.durable.give_back(popped, leftmost=False, retry=False)
            except Exception as exc:
                log.error("could not put a held message back on the queue; the sweep "
                          "will", delivery_tag=tag, error=f"{type(exc).__name__}: {exc}")
        self._delivered.clear()

    def leave_unacknowledged(self, delivery_tag: str) -> None:
        """The message goes to kombu's ``unacked`` hash, which kombu's sweep gives back
        after the visibility timeout (``worker.tasks.leave_unacknowledged``: Redis took
        neither the park nor the dead letter); this channel stops counting it against
        its prefetch limit. Until Redis takes the move (retried), it stays in the list."""
        popped = self._popped.pop(delivery_tag, None)
        if popped is not None:
            message = self._delivered.get(delivery_tag)
            if message is None:  # (not in kombu's record: no entry to write) back now
                self.durable.give_back(popped, leftmost=False)
                return
            delivery = message.delivery_info
            entry = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
            self.durable.claim(popped, delivery_tag, entry)
        virtual.QoS.ack(self, delivery_tag)

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
    _pool: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if list(self.priority_steps) != [0]:
            raise DurablePopConfigError(
                f"broker transport option priority_steps={self.priority_steps!r}: the "
                "durable pop (worker.broker) pops one list per queue; use [0]")
        #: names this channel's processing list: host, pid, random token
        self.consumer_id = (f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
                            .replace(":", "_"))
        self.alive_ttl_s = alive_ttl_s(self.visibility_timeout)
        self._swept_at = float("-inf")
        self._pending_pop: Popped | None = None
        self._pop_queue: str | None = None
        self._keeper: AliveKeeper | None = None
        self._processing: str | None = None
        #: a pop's answer was lost: the list may hold a message this channel never read
        self._unread_in_list = False
        #: acknowledgements to send ahead of the next pop (``defer_ack``), and those sent
        #: ahead of the outstanding pop whose answers are not read yet (loop thread only)
        self._acks_due: list[Popped] = []
        self._acks_sent: list[Popped] = []
        # (each call passes the client of the channel's current pool)
        self.claim_script = self.plain_client.register_script(bp.CLAIM_LUA)
        self.give_back_script = self.plain_client.register_script(bp.GIVE_BACK_LUA)
        self.check_script = self.plain_client.register_script(bp.CHECK_LUA)
        self.reconcile_script = self.plain_client.register_script(bp.RECONCILE_LUA)

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

    def take_pending_pop(self) -> Popped | None:
        pending, self._pending_pop = self._pending_pop, None
        return pending

    # -- the alive key ------------------------------------------------------------------

    def _refresh_alive(self, processing: str) -> None:
        """This consumer is alive (and its list registered) for ``alive_ttl_s``."""
        pipe = self.plain_client.pipeline(transaction=False)
        pipe.set(bp.alive_key(processing), self.consumer_id, ex=self.alive_ttl_s)
        pipe.sadd(bp.registry_key(self.global_keyprefix), processing)
        pipe.execute()

    def _keep_alive(self, processing: str) -> AliveKeeper:
        """The keeper of this consumer's alive key, started (and the key set) before the
        first pop."""
        keeper = self._keeper
        if keeper is None:
            keeper = AliveKeeper(lambda: self._refresh_alive(processing), self.alive_ttl_s,
                                 name=self.consumer_id)
            keeper.start()
            self._keeper, self._processing = keeper, processing
        return keeper

    def _still_held(self, processing: str, item: bytes) -> bool:
        """Whether a message just popped is still in this consumer's list: asked of Redis
        (one script, which also makes the consumer alive again) only when the alive key
        may have lapsed since the pop was sent; else nothing could have taken it."""
        keeper = self._keep_alive(processing)
        if not keeper.lapsed_since(self._brpop_sent_at):
            return True
        sent_at = monotonic()
        held = self.check_script(
            keys=[processing, bp.alive_key(processing), bp.registry_key(self.global_keyprefix)],
            args=[item, self.consumer_id, self.alive_ttl_s], client=self.plain_client)
        keeper.refreshed(sent_at)
        return bool(held)

    # -- settling a popped message ------------------------------------------------------

    def _write(self, item: bytes, write: Callable[[], object], what: str) -> None:
        """Run ``write``; if Redis refuses, the keeper retries it (the message stays in
        the list meanwhile: not lost, and not given to another worker)."""
        try:
            write()
        except Exception as exc:
            log.warning("a write about a held message failed; retrying", write=what,
                        error=f"{type(exc).__name__}: {exc}")
            keeper = self._keeper
            if keeper is not None:
                keeper.retry_later(item, write)

    def forget(self, popped: Popped) -> None:
        """Acknowledge: the message leaves the list (one LREM)."""
        processing, item = popped
        self._write(item, lambda: self._lrem(processing, item), "ack")

    def defer_ack(self, popped: Popped) -> bool:
        """Whether the acknowledgement of ``popped`` goes out with the next pop (its
        ``LREM`` in the same write, its answer read with the pop's: no round trip and no
        client call of its own) rather than now. Only on the event loop's thread with no
        pop outstanding: Celery's acknowledgements run there at the start of a loop
        iteration (``Consumer.call_soon_ack``), and the same iteration's poll start sends
        the next pop (``Transport.register_with_event_loop``), or, when it sends none,
        the acknowledgement alone (``send_due_acks``). Until then the message stays in the
        list: killed meanwhile, it is redelivered, and the delivery's dedupe skips it."""
        if threading.get_ident() != cast(Transport, self.connection).loop_thread:
            return False
        if self._in_poll:  # a pop outstanding (it may block): now, on the loop's own line
            self._ack_now(popped)
        else:
            self._acks_due.append(popped)
        return True

    def _ack_now(self, popped: Popped) -> None:
        """One ``LREM`` without redis-py's per-command layers (``toky_ghl.redis_direct``,
        a third of the client's cost); any failure: ``forget`` (which retries)."""
        processing, item = popped
        try:
            direct(self.plain_client).call("LREM", processing, -1, item)
        except Exception:
            self.forget(popped)

    def send_due_acks(self) -> None:
        """Acknowledge now (one ``LREM`` each) what no pop carried, and what was sent
        ahead of a pop whose answers were lost."""
        acks, self._acks_due = self._acks_due, []
        if not self._in_poll:
            acks, self._acks_sent = acks + self._acks_sent, []
        for popped in acks:
            self.forget(popped)

    def _retry_acks(self, acks: list[Popped]) -> None:
        """Acknowledgements sent whose answers were lost: whether Redis ran them is not
        known; the keeper sends them again (an ``LREM`` of a message no longer there does
        nothing)."""
        keeper = self._keeper
        for processing, item in acks:
            if keeper is None:
                self._drop_unrecorded(processing, item)
            else:
                keeper.retry_later(item, partial(self._lrem, processing, item))

    def _read_acks(self, connection: Any) -> None:
        """Read the answers of the acknowledgements sent ahead of the pop."""
        acks, self._acks_sent = self._acks_sent, []
        for n, (processing, item) in enumerate(acks):
            try:
                connection.read_response()
            except redis.ResponseError as exc:  # refused, not lost: retried
                log.warning("a write about a held message failed; retrying", write="ack",
                            error=f"{type(exc).__name__}: {exc}")
                self._retry_acks([(processing, item)])
            except BaseException:
                self._retry_acks(acks[n:])
                raise

    def give_back(self, popped: Popped, *, leftmost: bool, retry: bool = True) -> None:
        """Put the message back on its queue, marked redelivered as kombu does
        (``Channel._do_restore_message``), if it is still in the list."""
        processing, item = popped
        again = _redelivered(item)

        def write() -> object:
            return self.give_back_script(keys=[processing, bp.queue_of(processing)],
                                         args=[item, again, 1 if leftmost else 0],
                                         client=self.plain_client)

        if retry:
            self._write(item, write, "give_back")
        else:
            write()

    def claim(self, popped: Popped, delivery_tag: str, entry: str) -> None:
        """Move the message from the list into kombu's ``unacked`` hash and index."""
        processing, item = popped
        gp = self.global_keyprefix

        def write() -> object:
            return self.claim_script(
                keys=[processing, gp + self.unacked_index_key, gp + self.unacked_key],
                args=[item, time(), delivery_tag, entry], client=self.plain_client)

        self._write(item, write, "move_to_unacked")

    # -- popping ------------------------------------------------------------------------

    def _give_back_unread(self, queue: str, processing: str) -> None:
        """After a pop whose answer was lost: what the list holds and this channel does not
        know it holds goes back on the queue (run before the next pop, so that nothing
        else in the list can be unknown)."""
        popped = cast(QoS, self.qos)._popped
        known = [item for where, item in [*popped.values(), *self._acks_due, *self._acks_sent]
                 if where == processing]
        if self._keeper is not None:
            known += self._keeper.pending_messages()
        restored = self.reconcile_script(keys=[processing, self.global_keyprefix + queue],
                                         args=known, client=self.plain_client)
        self._unread_in_list = False
        if restored:
            log.warning("messages popped while this worker's connection broke put back on "
                        "the queue", count=restored)

    def _brpop_start(self, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = self.brpop_timeout
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        (queue,) = queues  # basic_consume allows one
        processing = self.processing_key(queue)
        self._keep_alive(processing)
        if self._unread_in_list:
            self._give_back_unread(queue, processing)
        self._pop_queue = queue
        client: Any = self.client
        connection = client.connection
        pop = ("BRPOPLPUSH", self.global_keyprefix + queue, processing, timeout or 0)
        # the acknowledgements due (and any sent ahead of a pop whose answer was lost)
        # go in the same write, before the pop (defer_ack)
        acks, self._acks_due = self._acks_sent + self._acks_due, []
        self._acks_sent = acks
        self._in_poll = connection
        self._brpop_sent_at = monotonic()
        if not acks:
            connection.send_command(*pop)
            return
        try:
            connection.send_packed_command(connection.pack_commands(
                [*(("LREM", where, -1, item) for where, item in acks), pop]))
        except BaseException:
            self._acks_sent = []
            self._retry_acks(acks)
            raise

    def _brpop_read(self, **options: Any) -> bool:
        client: Any = self.client
        if self._acks_sent and not self._ack_answers_read(client.connection):
            raise Empty()  # the pop's answer is not here yet: read when it comes
        try:
            try:
                item = client.parse_response(client.connection, "BRPOPLPUSH", **options)
            except self.connection_errors:
                self._unread_in_list = True
                client.connection.disconnect()
                raise
            if not item:
                raise Empty()
            queue = cast(str, self._pop_queue)
            processing = self.processing_key(queue)
            try:
                held = self._still_held(processing, item)
            except Exception:
                self._unread_in_list = True  # not delivered: given back before the next pop
                raise
            if not held:
                log.warning("popped message was put back on the queue by a sweep before "
                            "this worker read it (its alive key had lapsed); not delivered "
                            "here")
                raise Empty()
            self._pending_pop = (processing, item)
            try:
                self.connection._deliver(loads(bytes_to_str(item)), queue)
            finally:
                if self.take_pending_pop() is not None:
                    # delivered without being recorded (an acknowledgement-free
                    # consumer), or delivery failed before recording: as kombu does
                    # with a popped message, it is not kept.
                    self._drop_unrecorded(processing, item)
            return True
        finally:
            self._in_poll = None
            cast(Any, self)._flush_brpop_reauth()

    def _ack_answers_read(self, connection: Any) -> bool:
        """Read the answers of the acknowledgements sent ahead of the pop; whether the
        pop's answer is there to read too (the socket turned readable with theirs)."""
        try:
            self._read_acks(connection)
            return bool(connection.can_read(timeout=0))
        except self.connection_errors:
            self._unread_in_list = True
            connection.disconnect()
            self._in_poll = None
            raise

    def _lrem(self, processing: str, item: bytes) -> int:
        """Remove the message from the list (from its tail: the oldest end), if there."""
        return self.plain_client.lrem(processing, -1, cast(str, item))  # (bytes, as Redis gave)

    def _drop_unrecorded(self, processing: str, item: bytes) -> None:
        try:
            self._lrem(processing, item)
        except Exception:
            self._unread_in_list = True  # given back before the next pop instead

    def _on_connection_disconnect(self, connection: Any) -> None:
        """A connection dropped with a pop outstanding (kombu drops one whose answer is
        overdue, ``maybe_check_brpop_health``): Redis may have moved a message into the
        list whose answer is lost."""
        if self._in_poll is not None and self._in_poll is connection:
            self._unread_in_list = True
        cast(Any, super())._on_connection_disconnect(connection)

    def _poll_error(self, type: str, **options: Any) -> None:
        if type == "BRPOP":
            self._unread_in_list = True  # the answer read here is not delivered
            client: Any = self.client
            self._read_acks(client.connection)
            client.parse_response(client.connection, "BRPOPLPUSH")
        else:
            cast(Any, super())._poll_error(type, **options)

    def close(self) -> None:
        """kombu's close gives back what the channel holds (``QoS.restore_unacked``);
        then the alive key goes, so whatever Redis refused to give back goes to the
        next sweep rather than after the key's lifetime."""
        try:
            if self._in_poll and self._acks_sent:  # (kombu's close reads the pop's answer)
                with suppress(Exception):  # not answered: the keeper's retries
                    self._read_acks(self._in_poll)
            self.send_due_acks()
            super().close()
        finally:
            keeper, self._keeper = self._keeper, None
            if keeper is not None and self._processing is not None:
                keeper.stop()
                with suppress(Exception):  # Redis gone: the key expires by itself
                    self.plain_client.delete(bp.alive_key(self._processing))
            pool, self._pool = self._pool, None  # (one made again by the give-backs)
            if pool is not None:
                pool.disconnect()

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


def _redelivered(item: bytes) -> bytes:
    """The message marked redelivered, as kombu marks a message it restores."""
    try:
        payload = loads(bytes_to_str(item))
        payload["headers"]["redelivered"] = True
        payload["properties"]["delivery_info"]["redelivered"] = True
    except (ValueError, KeyError, TypeError):
        return item
    return dumps(payload).encode()


def leave_in_broker(message: Any) -> None:
    """Leave a delivered message unacknowledged: kombu's sweep gives it back after the
    visibility timeout (``QoS.leave_unacknowledged``). A message of another transport
    (tests' in-memory broker) is left as it is."""
    qos = getattr(getattr(message, "channel", None), "qos", None)
    if isinstance(qos, QoS):
        qos.leave_unacknowledged(message.delivery_tag)


class Transport(kombu_redis.Transport):
    Channel = Channel
    #: the thread running the event loop this transport is registered with (Celery's
    #: worker: the main thread; set by the loop's first iteration), None without one
    #: (``drain_events``)
    loop_thread: int | None = None
    cycle: Any

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """kombu's registration, with its poll start (run on every loop iteration)
        replaced by ``_poll_start``. Left as kombu's if its registration no longer adds
        exactly one tick callback."""
        before = set(loop.on_tick)
        super().register_with_event_loop(connection, loop)
        added = [callback for callback in loop.on_tick if callback not in before]
        if len(added) != 1:
            return
        loop.on_tick.discard(added[0])
        loop.on_tick.add(partial(_poll_start, self, loop))


def _poll_start(transport: Transport, loop: Any) -> None:
    """What kombu runs at every loop iteration (kombu/transport/redis.py,
    ``register_with_event_loop``: ``on_poll_start``), minus its cost per iteration:

    - kombu adds every socket to the loop again each time (``Hub.add_reader``: an
      ``epoll_ctl`` that fails with ``EEXIST`` and a raised exception per socket); here
      only a socket the loop does not read with this callback: every path that takes a
      socket out of epoll (kombu pausing a pop, a disconnection, a socket error) takes
      it out of ``loop.readers`` too (``Hub.remove_reader``/``remove``), and kombu
      registers a new socket in epoll itself (``MultiChannelPoller._register``);
    - the acknowledgements deferred to this iteration's pop and not carried by one
      (no pop sent: the prefetch limit reached, the consumer cancelled) go now.

    The thread running this is the loop's: acknowledgements made on it are deferred
    (``Channel.defer_ack``), those of other threads are not.
    """
    transport.loop_thread = threading.get_ident()
    cycle, on_readable = transport.cycle, transport.on_readable
    cycle.on_poll_start()
    readers = loop.readers
    for fd in cycle.fds:
        if readers.get(fd) != (on_readable, (fd,)):
            loop.add_reader(fd, on_readable, fd)
    for channel in cycle._channels:
        if channel._acks_due or (channel._acks_sent and not channel._in_poll):
            channel.send_due_acks()


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
