"""The poller's life: take the lock (or wait for it), poll every interval, stop cleanly.

``run_poller`` returns the exit status: 0 done (or, with ``once``, another
poller holds the lock and ``lock_wait_s`` passed), 1 a resource failed (with
``once``). A lost lock sends it back to waiting; a Redis error in a poll is
logged and the next poll tries again (with ``once`` it is raised).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import redis

from producers.polling.lock import LockLost, PollerLock
from producers.polling.report import PollReport
from toky_ghl.logs import get_logger

if TYPE_CHECKING:
    pass

log = get_logger(__name__)


class Pollable(Protocol):
    """What ``run_poller`` polls: ``producers.poller.Poller`` (Toky) and
    ``producers.mirror.MirrorPoller`` (GHL). ``check`` runs before each page and raises
    ``LockLost`` to stop."""

    def poll_once(self, check: Callable[[], None] = ...) -> PollReport: ...


class CycleRecorder(Protocol):
    """Called after each poll with its outcome (the metrics' ``record_cycle``, bound to
    Redis, the prefix and the poller's name)."""

    def __call__(self, *, ok: bool, records: int, queued: int, repeats: int,
                 invalid: int) -> None: ...


def holder_text(lock: PollerLock) -> str:
    info = lock.holder() or {}
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, "
            f"since {info.get('since', '?')}")


def run_poller(poller: Pollable, lock: PollerLock, *, once: bool, interval_s: float,
               lock_wait_s: float, stop: threading.Event, say: Callable[[str], None],
               retry_lock_s: float = 5.0, name: str = "poll",
               cycles: CycleRecorder | None = None) -> int:
    """Poll under ``lock`` until ``stop`` is set (or once).

    ``interval_s``: seconds from the start of one poll to the start of the next.
    ``lock_wait_s``: with ``once``, how long to wait for a held lock (0: not at
    all). ``retry_lock_s``: how often a waiting poller tries the lock. ``say``
    prints a line for the operator (stderr). ``name``: the command, prefixing
    the poll lines (``poll``; the GHL mirror's ``mirror``). ``poller`` is any
    ``Pollable`` (``Poller``, ``producers.mirror.MirrorPoller``).
    ``cycles``: called after each poll with ``ok`` and the report's counts (the
    metrics' ``record_cycle``, bound to Redis and the poller's name).
    """
    started = time.monotonic()
    said_waiting = False
    while not stop.is_set():
        if not lock.acquire():
            if not said_waiting:
                say(f"another poller holds the lock ({holder_text(lock)}); waiting"
                    + (f" up to {lock_wait_s:g} s" if once else ""))
                said_waiting = True
            left_s = lock_wait_s - (time.monotonic() - started)
            if once and left_s <= 0:
                say(f"{name} --once: the lock is still held; nothing polled")
                return 0
            stop.wait(min(retry_lock_s, left_s) if once else retry_lock_s)
            continue
        if said_waiting:
            say("took the poller lock")
            said_waiting = False
        try:
            with lock.renewing():
                return _poll_loop(poller, lock, once=once, interval_s=interval_s, stop=stop,
                                  say=say, name=name, cycles=cycles)
        except LockLost:
            say("lost the poller lock (it expired or another poller took it); waiting")
    return 0


def _poll_loop(poller: Pollable, lock: PollerLock, *, once: bool, interval_s: float,
               stop: threading.Event, say: Callable[[str], None], name: str = "poll",
               cycles: CycleRecorder | None = None) -> int:
    while True:
        began = time.monotonic()
        try:
            report = poller.poll_once(check=lock.check)
        except redis.RedisError as exc:
            if once:
                raise
            log.error("poller.redis_failed", error=str(exc))
        else:
            _note_cycle(cycles, report)
            if once or report.counts.queued or report.counts.invalid or report.failures:
                say(f"{name}: {report.text()}")
            if once:
                return 1 if report.failures else 0
        lock.check()
        if stop.wait(max(0.0, interval_s - (time.monotonic() - began))):
            return 0


def _note_cycle(cycles: CycleRecorder | None, report: PollReport) -> None:
    if cycles is None:
        return
    counts = report.counts
    try:
        cycles(ok=not report.failures, records=sum(p.records for p in report.passes),
               queued=counts.queued, repeats=counts.repeats, invalid=counts.invalid)
    except redis.RedisError as exc:  # the metrics never stop the poller
        log.warning("poller.metrics_failed", error=str(exc))
