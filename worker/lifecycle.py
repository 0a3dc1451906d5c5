"""What a worker process runs beside its tasks: the delay scheduler (with the worker's
heartbeat) and the in-flight registry, wired to Celery's signals."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import signals

from toky_ghl.logs import get_logger

if TYPE_CHECKING:
    from worker.delay.scheduler import SchedulerThread

log = get_logger("toky_ghl.lifecycle")

_thread: SchedulerThread | None = None
#: Writes the in-flight registry once more at shutdown.
_last_sync: Callable[[], object] | None = None


@signals.worker_ready.connect
def _start_scheduler(sender: Any = None, **_kwargs: Any) -> None:
    """Start this worker's scheduler thread (every worker runs one; they share a lock)."""
    global _thread, _last_sync
    from worker import inflight
    from worker.delay.scheduler import Scheduler, SchedulerThread
    from worker.runtime import get_runtime
    from worker.stats import fold

    rt = get_runtime()
    hostname = getattr(sender, "hostname", None) or "worker"
    prefix = rt.settings.key_prefix
    scheduler = Scheduler(rt.redis, rt.settings, limiter=rt.limiter, auth=rt.auth)

    def heartbeat() -> None:
        inflight.beat(rt.redis, prefix, hostname)
        inflight.REGISTRY.sync(rt.redis, prefix, hostname)
        inflight.prune(rt.redis, prefix, older_than_s=rt.settings.visibility_timeout_s + 60)
        fold(rt.redis, prefix)  # the decisions' counters (worker.stats)

    _last_sync = lambda: inflight.REGISTRY.sync(rt.redis, prefix, hostname)  # noqa: E731
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
        _thread.join(timeout=5)
        if _last_sync is not None:
            try:  # the last sync: the tasks that ended leave the registry
                _last_sync()
            except Exception as exc:  # Redis gone: prune removes them later
                log.warning("last heartbeat failed", error=f"{type(exc).__name__}: {exc}")


# The in-flight registry is kept in memory; the heartbeat writes it (worker.inflight).
@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_kwargs: Any) -> None:
    from worker import inflight

    if task_id is not None:
        inflight.REGISTRY.started(task_id)


@signals.task_postrun.connect
def _task_ended(task_id: str | None = None, **_kwargs: Any) -> None:
    from worker import inflight

    if task_id is not None:
        inflight.REGISTRY.ended(task_id)
