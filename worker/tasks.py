"""Thin Celery tasks over ``worker.pipeline``: parse arguments, call, decide retry."""

from __future__ import annotations

import structlog
from celery import Task

from toky_ghl.constants import APPLY_EVENT_TASK
from worker.celery import app
from worker.pipeline import PipelineDeps, process, safe_label
from worker.runtime import get_runtime

log = structlog.get_logger("toky_ghl.tasks")

#: Countdown of a delivery that failed outside the pipeline's own decisions
#: (e.g. Redis unreachable while the event was read), in seconds.
UNEXPECTED_RETRY_S = 5


class DeadLettered(Exception):
    """Raised after an event was dead-lettered, so Flower shows the task as FAILED
    with the reason (the message is acknowledged: the event is safe in the store)."""


@app.task(name=APPLY_EVENT_TASK, bind=True, max_retries=None, acks_late=True)
def apply_event(self: Task, event: dict, failures: int = 0) -> str:
    """Apply one Toky event to GHL. ``failures`` counts earlier failed attempts."""
    try:
        rt = get_runtime()
        deps = PipelineDeps(settings=rt.settings, redis=rt.redis, client=rt.client,
                            field_map=rt.field_map, auth=rt.auth)
        decision = process(event, deps, failures=failures, task_id=self.request.id)
    except Exception:  # outside the pipeline's decisions: keep the event, try again
        log.exception("delivery failed before a decision; re-scheduled",
                      label=safe_label(event), countdown_s=UNEXPECTED_RETRY_S)
        raise _again(self, event, failures, UNEXPECTED_RETRY_S) from None
    if decision.kind == "retry":
        raise _again(self, event, decision.failures, decision.retry_in_ms / 1000)
    if decision.kind == "dead_lettered":
        raise DeadLettered(decision.detail)
    return f"{decision.kind}: {decision.detail}"


def _again(task: Task, event: dict, failures: int, countdown_s: float) -> Exception:
    """The Retry to raise: the same event, later (the message is acknowledged only
    once the new one is queued)."""
    return task.retry(
        args=(event,), kwargs={"failures": failures}, countdown=countdown_s, max_retries=None,
        # Flower shows argsrepr: the operator label, never the event's data.
        argsrepr=task.request.argsrepr or safe_label(event),
        kwargsrepr=repr({"failures": failures}),
    )
