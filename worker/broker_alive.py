"""A consumer's ``alive`` key kept fresh by its own thread, and the Redis writes about its
processing list that failed, retried until Redis takes them (``worker.broker``).

A consumer's processing list holds its messages until they are acknowledged
(``worker.broker_processing``), and the other workers' sweep gives the list back to the
queue once the consumer's ``alive`` key has expired. So the key must stay fresh for as
long as the consumer lives, also when it pops nothing for a long time: a worker whose
prefetch limit is reached stops popping (kombu's poller registers no ``BRPOP`` while
``QoS.can_consume()`` is false, kombu/transport/redis.py ``on_poll_start``). The keeper
refreshes it every third of its lifetime from a daemon thread, independent of popping.

A refresh later than ``LAPSE_FRACTION`` of the lifetime after the one before (the process
was frozen or starved, or Redis refused) may have let the key expire and a sweep take the
list back: the keeper records the lapse, and the consumer checks a message popped across
a lapse before delivering it (``lapsed_since``). Margin: the key is set at the earliest
when the refresh is sent, and lives the whole lifetime after that.

A write that failed (an acknowledgement's ``LREM``, a give-back, a move to ``unacked``)
would leave a message in a live consumer's list for as long as it lives: the keeper
retries it after each refresh. Each write is idempotent (it acts only on the message if
it is still in the list), so a retry of a write that did in fact run does nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from time import monotonic

from toky_ghl.logs import get_logger

log = get_logger("toky_ghl.broker")

#: A refresh this late (a fraction of the key's lifetime after the previous one) may
#: have come after the key expired: a lapse. Refreshes come every third of the lifetime.
LAPSE_FRACTION = 2 / 3


class AliveKeeper:
    """Refreshes one consumer's ``alive`` key (``refresh``: one Redis round trip) every
    third of ``ttl_s``, from a daemon thread started by ``start``."""

    def __init__(self, refresh: Callable[[], object], ttl_s: float, *, name: str) -> None:
        self._refresh = refresh
        self.ttl_s = ttl_s
        self.interval_s = ttl_s / 3
        self.lapse_after_s = ttl_s * LAPSE_FRACTION
        self._name = name
        self._lock = threading.Lock()
        self._ok_at = float("-inf")  # monotonic time the last successful refresh was sent
        self._lapse_end_at = float("-inf")  # monotonic time the last lapse ended
        self._stop = threading.Event()
        #: (the message concerned, the write) of each write to retry
        self._retries: deque[tuple[bytes, Callable[[], object]]] = deque()

    def start(self) -> None:
        """Refresh now (raises when Redis refuses: a consumer does not pop before its
        list is registered and alive), then from the thread."""
        self.refresh()
        threading.Thread(target=self._run, name=f"alive-{self._name}", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> float | None:
        """Refresh the key now (raises when Redis refuses); when this ended a lapse, how
        long (s) the key went without a refresh (``refreshed``)."""
        sent_at = monotonic()
        self._refresh()
        return self.refreshed(sent_at)

    def refreshed(self, sent_at: float) -> float | None:
        """Record a refresh of the key sent at ``sent_at`` (monotonic s) that Redis took;
        when it ended a lapse, how long (s) the key went without one."""
        with self._lock:
            gap_s = sent_at - self._ok_at
            lapsed = self._ok_at != float("-inf") and gap_s > self.lapse_after_s
            if lapsed:
                self._lapse_end_at = monotonic()
            self._ok_at = max(self._ok_at, sent_at)
        return gap_s if lapsed else None

    def lapsed_since(self, since: float) -> bool:
        """Whether the key may have expired at some time after ``since`` (monotonic s):
        a lapse now, or one that ended after ``since``."""
        with self._lock:
            return (monotonic() - self._ok_at > self.lapse_after_s
                    or self._lapse_end_at >= since)

    def retry_later(self, message: bytes, write: Callable[[], object]) -> None:
        self._retries.append((message, write))

    def pending_messages(self) -> list[bytes]:
        """The messages whose writes wait to be retried."""
        return [message for message, _ in list(self._retries)]

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                gap_s = self.refresh()
            except Exception as exc:  # Redis refused or unreachable: next tick retries
                log.warning("could not refresh this worker's alive key; retrying",
                            error=f"{type(exc).__name__}: {exc}", ttl_s=self.ttl_s)
                continue
            if gap_s is not None:
                log.warning("this worker's alive key was refreshed late: a sweep may have "
                            "put messages it holds back on the queue",
                            late_by_s=round(gap_s, 1), ttl_s=self.ttl_s)
            self._retry_writes()

    def _retry_writes(self) -> None:
        for _ in range(len(self._retries)):
            message, write = self._retries.popleft()
            try:
                write()
            except Exception as exc:
                self._retries.appendleft((message, write))
                log.warning("a write about a held message failed again; retrying",
                            error=f"{type(exc).__name__}: {exc}", waiting=len(self._retries))
                return
