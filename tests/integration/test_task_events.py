"""A real worker's task events reach an event receiver (what Flower runs) in batches: a
burst of tasks in fewer messages than tasks, every task with its states, the last events
without waiting for more tasks, and what is buffered at a warm shutdown sent then."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import pytest
from celery import Celery
from celery.events.receiver import EventReceiver

from contract.constants import APPLY_EVENT_TASK
from tests.integration.harness import wait_until, worker_env
from toky_ghl.settings import Settings
from worker.celery import celery_config

pytestmark = pytest.mark.integration

STATES = {"task-received", "task-started", "task-succeeded"}


class CountingReceiver(EventReceiver):
    """An ``EventReceiver`` that also counts the messages carrying task events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_messages = 0

    def _receive(self, body: Any, message: Any, list: type = list,
                 isinstance: Any = isinstance) -> None:
        events = body if isinstance(body, list) else [body]
        if any(str(e.get("type", "")).startswith("task-") for e in events):
            self.task_messages += 1
        super()._receive(body, message)


class Watcher:
    """Listens to the deployment's events, as Flower does, in a thread of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.app = Celery("events-probe", set_as_current=False)
        self.app.conf.update(celery_config(Settings.from_env(env)))
        self.states: dict[str, set[str]] = defaultdict(set)
        self.names: dict[str, str] = {}
        self.workers_seen: set[str] = set()
        self._connection = self.app.connection_for_read()
        self.receiver = CountingReceiver(self._connection, handlers={"*": self._on_event},
                                         app=self.app)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event["type"].startswith("worker-"):
            self.workers_seen.add(event["hostname"])
        elif event["type"].startswith("task-"):
            self.states[event["uuid"]].add(event["type"])
            if event.get("name"):
                self.names[event["uuid"]] = event["name"]

    def _run(self) -> None:
        self.receiver.capture(limit=None, timeout=None, wakeup=False)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def succeeded(self) -> int:
        return sum("task-succeeded" in s for s in self.states.values())

    def stop(self) -> None:
        self.receiver.should_stop = True
        self._thread.join(timeout=10)
        self._connection.release()
        self.app.close()


@pytest.fixture
def watch(redis_url, ghl):
    watchers: list[Watcher] = []

    def start(**env: str) -> Watcher:
        watcher = Watcher(worker_env(redis_url, ghl, **env)).start()
        watchers.append(watcher)
        return watcher

    yield start
    for watcher in watchers:
        watcher.stop()


def burst(count: int, tag: str) -> list[dict]:
    """``count`` new contacts' events (each one GHL search and one create)."""
    return [{"id": f"{tag}-{n}", "type": "contact.created", "occurred_at": "2026-11-02T10:00:00Z",
             "data": {"phone": f"+1415666{n:04d}", "country_code": "US",
                      "contact_name": f"Burst {n}"}}
            for n in range(count)]


def test_a_burst_of_tasks_reaches_a_receiver_in_fewer_messages_than_tasks(
        watch, start_worker, pipeline):
    # Given a receiver listening (as Flower does) and a worker whose heartbeat it sees
    # (flushing every 2 s so that a slow machine still batches)
    watcher = watch()
    start_worker(name="w1", TASK_EVENTS_FLUSH_MS="2000")
    wait_until(lambda: watcher.workers_seen, 60, "the worker's heartbeat", interval_s=0.2)
    # When a burst of 100 events is applied, and nothing is queued after them
    events = burst(100, "burst")
    pipeline.enqueue(events)
    pipeline.wait_handled(len(events), timeout_s=120)
    # Then every task reaches the receiver with its states, the last ones too, without
    # more tasks to push them out
    wait_until(lambda: watcher.succeeded() >= len(events), 60,
               "every task-succeeded event at the receiver", interval_s=0.2)
    tasks = {uuid: states for uuid, states in watcher.states.items()
             if watcher.names.get(uuid) == APPLY_EVENT_TASK}
    assert len(tasks) >= len(events)
    for states in tasks.values():
        assert states >= STATES
    # And they came in fewer messages than tasks (Celery's own: one or more per task)
    assert 0 < watcher.receiver.task_messages < len(events)


def test_events_buffered_at_a_warm_shutdown_are_sent_then(watch, start_worker, pipeline):
    # Given a worker that would hold its task events for ten minutes, and a receiver
    watcher = watch()
    worker = start_worker(name="w1", TASK_EVENTS_FLUSH_MS="600000")
    wait_until(lambda: watcher.workers_seen, 60, "the worker's heartbeat", interval_s=0.2)
    # When it applies a few events, then is stopped (SIGTERM: a warm shutdown)
    events = burst(5, "stop")
    pipeline.enqueue(events)
    pipeline.wait_handled(len(events), timeout_s=120)
    worker.stop()
    # Then the receiver has every task's events, sent as the worker stopped
    wait_until(lambda: watcher.succeeded() >= len(events), 30,
               "the buffered task events at the receiver", interval_s=0.2)
    assert watcher.receiver.task_messages >= 1
