"""Thin Celery tasks over ``worker.pipeline``: parse arguments, call, decide retry."""

from __future__ import annotations

from celery import Task

from toky_ghl.constants import APPLY_EVENT_TASK
from worker.celery import app
from worker.pipeline import PipelineDeps, process, safe_label
from worker.runtime import get_runtime


class DeadLettered(Exception):
    """Raised after an event was dead-lettered, so Flower shows the task as FAILED
    with the reason (the message is acknowledged: the event is safe in the store)."""


@app.task(name=APPLY_EVENT_TASK, bind=True, max_retries=None, acks_late=True)
def apply_event(self: Task, event: dict, failures: int = 0) -> str:
    """Apply one Toky event to GHL. ``failures`` counts earlier failed attempts."""
    rt = get_runtime()
    deps = PipelineDeps(settings=rt.settings, redis=rt.redis, client=rt.client,
                        field_map=rt.field_map, auth=rt.auth)
    decision = process(event, deps, failures=failures, task_id=self.request.id)
    if decision.kind == "retry":
        raise self.retry(
            args=(event,), kwargs={"failures": decision.failures},
            countdown=decision.retry_in_ms / 1000, max_retries=None,
            # Flower shows argsrepr: the operator label, never the event's data.
            argsrepr=self.request.argsrepr or safe_label(event),
            kwargsrepr=repr({"failures": decision.failures}),
        )
    if decision.kind == "dead_lettered":
        raise DeadLettered(decision.detail)
    return f"{decision.kind}: {decision.detail}"
