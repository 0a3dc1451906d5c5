"""The Celery app: created, configured from the settings, logging wired, tasks found.

Every setting has a comment saying why; see
https://docs.celeryq.dev/en/stable/userguide/configuration.html
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from contract.constants import EVENTS_QUEUE
from toky_ghl import logs
from toky_ghl.keys import broker_keyprefix, queue_key
from toky_ghl.settings import Settings, get_settings
from worker import lifecycle, log_context  # noqa: F401  (scheduler thread; task log context)
from worker.broker import broker_ssl_options
from worker.task_events import TaskEventBatches

#: Each worker process's pool and slots (``toky-ghl worker`` runs one process per CPU:
#: cli/worker_processes.py); README "Benchmarks" has the figures they come from.
DEFAULT_POOL = "threads"
DEFAULT_SLOTS = 8


def celery_config(settings: Settings) -> dict[str, Any]:
    """The app's configuration for ``settings`` (read when Celery first needs it)."""
    return dict(
        broker_url=settings.redis_url,
        # kombu's Redis transport with a durable pop (worker/broker.py): a message stays
        # in the worker's processing list from the pop to the acknowledgement, so a worker
        # killed at any instant loses nothing (guarantee 1). REDIS_URL still says where
        # Redis is.
        broker_transport="worker.broker:Transport",
        **broker_ssl_options(settings.redis_url),
        # JSON only: task arguments are JSON primitives (the event), never pickles.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # No result backend: outcomes live in our own Redis state and in task events.
        task_ignore_result=True,
        # Guarantee 1: acknowledge after the task ran, and give a killed worker's
        # task back to the queue (task_acks_late / task_reject_on_worker_lost).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message reserved per worker slot: a killed worker holds little.
        worker_prefetch_multiplier=1,
        # The visibility timeout: kombu re-delivers a message left in its 'unacked' hash
        # this long (one left unacknowledged by worker/tasks.py, or by an earlier
        # version); a worker's alive key lives a third of it (3-30 s), after which a
        # SIGKILLed worker's messages go back on the queue (worker/broker.py).
        # No message waits in the broker (waits are parked in worker.delay), so the
        # timeout can be short: 90 s by default.
        # kombu sweeps for such messages every unacked_restore_interval seconds
        # (times the throttle, set to 1 here): a tenth of the timeout, 1-10 s.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 10)),
            "unacked_restore_throttle": 1,
            # The sweep takes a Redis mutex for milliseconds; kombu's default expiry
            # (300 s) would stop every sweep for five minutes after a worker is killed
            # while holding it.
            "unacked_mutex_expire": 10,
            # Every kombu key and channel under TOKY_GHL_KEY_PREFIX (the queue list,
            # unacked, _kombu.binding.*, events, remote control): deployments with
            # different prefixes share a Redis database apart (toky_ghl/keys.py).
            "global_keyprefix": broker_keyprefix(settings.key_prefix),
            # One list per queue: the durable pop moves from one list (BRPOPLPUSH); no
            # message is published with a priority (contract/celery_message.py).
            "priority_steps": [0],
        },
        broker_connection_retry_on_startup=True,
        task_default_queue=EVENTS_QUEUE,
        task_routes={"toky_ghl.*": {"queue": EVENTS_QUEUE}},
        # I/O-bound work (HTTP to GHL): threads, many per process; see README.
        worker_pool=DEFAULT_POOL,
        worker_concurrency=DEFAULT_SLOTS,
        # Prefork pool: a task is stopped before Redis would re-deliver it.
        # The threads pool does not enforce time limits: there a task is bounded by
        # the GHL timeouts (see README, "Killed workers and the visibility timeout").
        task_soft_time_limit=max(5, settings.visibility_timeout_s // 2),
        task_time_limit=max(8, settings.visibility_timeout_s * 2 // 3),
        # Flower needs task events; our worker sends them in batches (TaskEventBatches).
        worker_send_task_events=True,
        task_send_sent_event=True,
        # Our structlog set-up, not Celery's (see setup_logging below).
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )


def _configuration() -> dict[str, Any]:
    """``celery_config`` of the process's settings; a bad setting stops the process with
    its one-line message (``celery -A worker ...``; ``toky-ghl`` checked it already)."""
    import sys

    from toky_ghl.errors import ConfigError

    try:
        return celery_config(get_settings())
    except ConfigError as exc:
        print(f"toky-ghl worker: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


# Configured lazily: importing this module reads no settings (a test, a command that
# only publishes); Celery calls _configuration when it first reads app.conf.
app = Celery("toky_ghl", include=["worker.tasks"])
app.add_defaults(_configuration)
# Task events in batches, a few messages a second (worker/task_events.py).
app.steps["consumer"].add(TaskEventBatches)


#: Celery's loggers whose INFO lines, one or two per event, say nothing ours does not: at
#: INFO a worker logs ONE line per event, ours ("event applied" / "skipped", with the
#: reason), and every line costs CPU. "Task ... received" (celery.worker.strategy, logged
#: before the task runs) and "Task ... succeeded in ...s" (celery.app.trace, which also
#: logs a retry, an ignored task and an expected exception (DeadLettered, after the
#: pipeline's own warning) at INFO) are shown at DEBUG only; their warnings and errors (a
#: task that raised an unexpected exception, a rejected one) are always shown.
#: With celery.app.trace above INFO, Celery does not even build the success line: the
#: tracer checks ``logger.isEnabledFor(logging.INFO)`` once, when it is built, before the
#: first task (celery/app/trace.py, build_tracer: ``_does_info``).
DEBUG_ONLY_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


def debug_only_level(root_level: int) -> int:
    """The level of a ``DEBUG_ONLY_LOGGERS`` logger when the root logs at ``root_level``:
    everything at DEBUG, else WARNING and above (or the root's level when higher)."""
    import logging

    return logging.DEBUG if root_level <= logging.DEBUG else max(logging.WARNING, root_level)


@signals.setup_logging.connect
def _setup_logging(**_kwargs: object) -> None:
    """Route Celery's logging through structlog with redaction; Celery's per-task INFO
    lines at DEBUG only (``DEBUG_ONLY_LOGGERS``)."""
    import logging

    settings = get_settings()
    logs.register_settings_secrets(settings)
    logs.configure(settings.log_level)
    level = debug_only_level(logging.getLogger().level)
    for name in DEBUG_ONLY_LOGGERS:
        logging.getLogger(name).setLevel(level)


@signals.worker_init.connect
def _check_configuration(**_kwargs: object) -> None:
    """Validate everything a worker needs before it takes a task: a bad
    configuration stops start-up with a message naming the entry.

    SystemExit, not an exception: Celery logs and ignores exceptions raised by
    signal handlers, and the worker would start and fail every task."""
    import sys

    from toky_ghl.errors import ConfigError
    from worker.runtime import get_runtime

    try:
        rt = get_runtime()
    except ConfigError as exc:
        print(f"toky-ghl worker: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    _adopt_legacy_messages(rt)


def _adopt_legacy_messages(rt: object) -> None:
    """Events an earlier version left in the unprefixed Celery keys or in the priority
    sub-lists join this deployment's queue (worker/legacy_queue.py), and so do those left
    in dead consumers' processing lists: an upgrade or a kill loses nothing."""
    from worker.legacy_queue import adopt_legacy_messages

    settings = rt.settings  # type: ignore[attr-defined]
    moved = adopt_legacy_messages(rt.redis, settings.key_prefix,  # type: ignore[attr-defined]
                                  visibility_timeout_s=settings.visibility_timeout_s)
    if moved:
        logs.get_logger("toky_ghl.worker").warning(
            "moved events queued by an earlier version into this deployment's queue",
            count=moved, queue=queue_key(settings.key_prefix))
    # A processing list whose consumer is gone (killed, or of a version that is gone)
    # goes back on its queue now, not only at the next sweep (worker/broker_processing.py).
    from worker.broker_processing import restore_dead

    restored = restore_dead(rt.redis, broker_keyprefix(settings.key_prefix),  # type: ignore[attr-defined]
                            scan=True)
    if restored:
        logs.get_logger("toky_ghl.worker").warning(
            "messages popped by stopped workers put back on the queue", count=restored)
