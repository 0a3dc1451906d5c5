"""What a worker process runs beside its tasks: the delay scheduler (with the worker's
heartbeat) and the in-flight registry, wired to Celery's signals."""

from __future__ import annotations

from typing import Any

import structlog
from celery import signals

log = structlog.get_logger("toky_ghl.lifecycle")

_thread: Any = None


@signals.worker_ready.connect
def _start_scheduler(sender: Any = None, **_kwargs: Any) -> None:
    """Start this worker's scheduler thread (every worker runs one; they share a lock)."""
    global _thread
    from worker import inflight
    from worker.delay.scheduler import Scheduler, SchedulerThread
    from worker.runtime import get_runtime

    rt = get_runtime()
    hostname = getattr(sender, "hostname", None) or "worker"
    prefix = rt.settings.key_prefix
    scheduler = Scheduler(rt.redis, rt.settings, limiter=rt.limiter, auth=rt.auth)

    def heartbeat() -> None:
        inflight.beat(rt.redis, prefix, hostname)
        inflight.prune(rt.redis, prefix, older_than_s=rt.settings.visibility_timeout_s + 60)

    # Without the scheduler (DELAY_SCHEDULER_IN_WORKER=0) the thread only beats.
    _thread = SchedulerThread(scheduler if rt.settings.delay_scheduler_in_worker else None,
                              also=heartbeat, interval_ms=rt.settings.delay_poll_interval_ms)
    _thread.start()
    log.info("worker thread started", hostname=hostname,
             scheduler=rt.settings.delay_scheduler_in_worker,
             poll_interval_ms=rt.settings.delay_poll_interval_ms)


@signals.worker_shutdown.connect
def _stop_scheduler(**_kwargs: Any) -> None:
    if _thread is not None:
        _thread.stop()


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **_kwargs: Any) -> None:
    try:
        from worker import inflight
        from worker.runtime import get_runtime

        rt = get_runtime()
        hostname = getattr(task.request, "hostname", None) or "worker"
        assert task_id is not None  # (Celery always sends it)
        inflight.started(rt.redis, rt.settings.key_prefix, task_id, hostname)
    except Exception as exc:  # bookkeeping only: never stop the task
        log.warning("in-flight registry not updated", error=f"{type(exc).__name__}: {exc}")


@signals.task_postrun.connect
def _task_ended(task_id: str | None = None, **_kwargs: Any) -> None:
    try:
        from worker import inflight
        from worker.runtime import get_runtime

        rt = get_runtime()
        assert task_id is not None  # (Celery always sends it)
        inflight.ended(rt.redis, rt.settings.key_prefix, task_id)
    except Exception as exc:  # bookkeeping only
        log.warning("in-flight registry not updated", error=f"{type(exc).__name__}: {exc}")
