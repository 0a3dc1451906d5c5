"""Task events (what Flower shows) sent in batches: a few Redis PUBLISHes a second, not one
or more per event.

Celery's worker already buffers the "task" group of events when it runs an event loop
(celery/worker/consumer/events.py: ``buffer_group=['task'] if c.hub``), but flushes the
buffer on the loop's next iteration (``Consumer.on_send_event_buffered``: ``hub.call_soon``)
or at 24 events (``EventDispatcher.buffer_limit``): about one PUBLISH per task. The
dispatcher publishes a buffer as ONE message, a list of events routed ``task.multi``
(celery/events/dispatcher.py, ``flush``), which ``EventReceiver`` — Flower's too — unpacks
event by event (celery/events/receiver.py, ``_receive``: ``if isinstance(body, list)``).

``TaskEventBatches``, a consumer bootstep after Celery's ``Events``, keeps that format and
changes when a buffer goes out: ``TASK_EVENTS_FLUSH_MS`` after its first event (a thread
of its own waits), or as soon as it holds ``BATCH_MAX_EVENTS`` events, whichever comes
first; and when the consumer stops (a lost connection: the dispatcher keeps what it could
not send and the next one sends it, ``Events.start``: ``extend_buffer``) or the worker
shuts down (after the pool has finished its tasks, before Celery's ``Events`` closes the
dispatcher). ``TASK_EVENTS_FLUSH_MS=0`` leaves Celery's own buffering.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import bootsteps

from toky_ghl import logs
from toky_ghl.settings import get_settings

#: A buffer is published when it holds this many events (a task sends three: received,
#: started, succeeded; some 300-600 bytes each), before the interval is up: about 100
#: tasks a message, at most a few hundred kB.
BATCH_MAX_EVENTS = 300

#: How long stopping waits for the flushing thread's last publish, in seconds.
_JOIN_TIMEOUT_S = 5.0

log = logs.get_logger("toky_ghl.worker")


class Flusher:
    """A thread that flushes ``dispatcher`` (an ``EventDispatcher``) ``interval_s`` after
    it is woken; ``wake`` is the dispatcher's ``on_send_buffered`` (called per buffered
    event, from any thread: it only sets a flag)."""

    def __init__(self, dispatcher: Any, interval_s: float) -> None:
        self.dispatcher = dispatcher
        self.interval_s = interval_s
        self._pending = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="task-events-flush",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """An event was buffered: flush within the interval (no lock taken when already set)."""
        if not self._pending.is_set():
            self._pending.set()

    def flush(self) -> None:
        """Publish what the dispatcher holds now; never raises (Celery's dispatcher keeps
        an event it could not publish for the next flush: ``buffer_while_offline``)."""
        try:
            self.dispatcher.flush()
        except Exception as exc:  # a failure here must not stop the next flushes
            log.warning("task events not sent", error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop the thread, then flush what was buffered after its last flush."""
        self._closing.set()
        self._pending.set()
        self._thread.join(_JOIN_TIMEOUT_S)
        self.flush()

    def _run(self) -> None:
        while not self._closing.is_set():
            self._pending.wait()
            self._closing.wait(self.interval_s)  # gather the interval's events
            # Cleared before the flush: an event buffered during the flush wakes us again.
            self._pending.clear()
            self.flush()


class TaskEventBatches(bootsteps.StartStopStep):
    """The worker's task events in batches (see the module's docstring)."""

    requires = ("celery.worker.consumer.events:Events",)
    label = "TaskEventBatches"

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.interval_s = get_settings().task_events_flush_ms / 1000
        self.flusher: Flusher | None = None

    def include_if(self, c: Any) -> bool:
        return self.interval_s > 0

    def start(self, c: Any) -> None:
        """Run after Celery's ``Events.start``, which makes a new dispatcher each time the
        consumer (re)connects: batch its task events."""
        dispatcher = c.event_dispatcher
        if dispatcher is None:
            return
        if self.flusher is None:
            self.flusher = Flusher(dispatcher, self.interval_s)
        self.flusher.dispatcher = dispatcher
        # Also without an event loop (Celery buffers only with one, see above).
        dispatcher.buffer_group = frozenset({"task"})
        dispatcher.buffer_limit = BATCH_MAX_EVENTS
        dispatcher.on_send_buffered = self.flusher.wake

    def stop(self, c: Any) -> None:
        """The consumer stops (reconnecting, or the worker stopping: then the pool still
        finishes its tasks, and their events keep going out): send what is buffered."""
        if self.flusher is not None:
            self.flusher.flush()

    def shutdown(self, c: Any) -> None:
        """The worker's last moment with a dispatcher: stop the thread, send the rest."""
        flusher, self.flusher = self.flusher, None
        if flusher is not None:
            flusher.close()
