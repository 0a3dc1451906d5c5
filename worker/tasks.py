"""Thin Celery tasks over ``worker.pipeline``: parse arguments, call, park or finish.

Nothing waits in a Celery message: an event that must wait (rate window, backoff,
open circuit, paused location, daily budget) is PARKED in the delay store
(``worker.delay``) and the message acknowledged; the scheduler re-publishes it
when it is due. A failure outside the pipeline's decisions (Redis refusing a
read, a bug) counts as an attempt like any other, and ends in the dead-letter
store as ``internal`` when the attempts run out.

A park that fails is never a loss: the event goes to the dead-letter store
instead, and when even that fails the message is left unacknowledged, so the
broker gives it back after the visibility timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Task

from clients.http_policy import backoff_ms
from contract.constants import APPLY_EVENT_TASK
from toky_ghl.logs import get_logger
from worker.celery import app
from worker.delay import DelayStore, ParkReason
from worker.dlq import DeadKind, DeadLetterStore
from worker.pipeline import Decision, DecisionKind, PipelineDeps, process, safe_label
from worker.runtime import get_runtime

log = get_logger("toky_ghl.tasks")


class DeadLettered(Exception):
    """Raised after an event was dead-lettered, so Flower shows the task as FAILED
    with the reason (the message is acknowledged: the event is safe in the store)."""


class NotKept(Exception):
    """Neither the delay store nor the dead-letter store took the event: its message
    is left unacknowledged and comes back after the visibility timeout."""


# throws: a dead-lettered event is an expected outcome; the pipeline logged one warning with
# its reason, so Celery logs the task's failure without a traceback, at INFO, not as an ERROR
# (and worker/celery.py shows that line at DEBUG only).
@app.task(name=APPLY_EVENT_TASK, bind=True, max_retries=None, acks_late=True,
          throws=(DeadLettered,))
def apply_event(self: Task[Any, Any], event: dict[str, Any], failures: int = 0,
                since_ms: int | None = None,
                history: list[str] | None = None) -> str:
    """Apply one Toky event to GHL. ``failures`` counts earlier failed attempts,
    ``since_ms`` is when its transient failures began, ``history`` what they were."""
    try:
        rt = get_runtime()
        deps = PipelineDeps(settings=rt.settings, redis=rt.redis, client=rt.client,
                            field_map=rt.field_map, auth=rt.auth, toky=rt.toky)
        decision = process(event, deps, failures=failures, task_id=self.request.id,
                           since_ms=since_ms, history=history or ())
    except Exception as exc:  # outside the pipeline's decisions: an attempt like any other
        log.exception("delivery failed before a decision", label=safe_label(event))
        try:
            decision = _internal_failure(event, failures, since_ms, history or (), exc,
                                         self.request.id)
        except NotKept:
            raise
        except Exception as again:  # not even the failure could be counted: keep the message
            leave_unacknowledged(self.request.id)
            raise NotKept(f"{type(again).__name__}: {again}") from None
    if decision.kind is DecisionKind.RETRY:
        return _park(self, event, decision)
    if decision.kind is DecisionKind.DEAD_LETTERED:
        raise DeadLettered(decision.detail)
    return f"{decision.kind}: {decision.detail}"


def _internal_failure(event: dict[str, Any], failures: int, since_ms: int | None,
                      history: Sequence[str],
                      exc: Exception, task_id: str | None) -> Decision:
    """Count the failure; dead-letter as ``internal`` when the attempts ran out, else park."""
    rt = get_runtime()
    settings = rt.settings
    attempt = failures + 1
    reason = f"{type(exc).__name__}: {exc}"[:500]
    kept = (*history, reason)[-10:]
    if attempt >= settings.ghl_retry_max_attempts:
        _keep_in_dlq(event, f"gave up after {attempt} attempts: {reason}", DeadKind.INTERNAL,
                     task_id, kept)
        return Decision(DecisionKind.DEAD_LETTERED, f"gave up after {attempt} attempts: {reason}")
    wait_ms = backoff_ms(failures, base_ms=settings.ghl_backoff_base_ms,
                         cap_ms=settings.ghl_backoff_cap_ms)
    return Decision(DecisionKind.RETRY, reason, retry_in_ms=max(1, wait_ms), failures=attempt,
                    reason=ParkReason.BACKOFF, since_ms=since_ms, history=kept)


def _park(task: Task[Any, Any], event: dict[str, Any], decision: Decision) -> str:
    """Park the event in the delay store; if that fails, dead-letter it; if that fails
    too, leave its message unacknowledged (raises ``NotKept``)."""
    rt = get_runtime()
    location = rt.settings.ghl_location_id
    assert location is not None  # (build_runtime requires GHL_LOCATION_ID)
    kwargs = {"failures": decision.failures, "since_ms": decision.since_ms,
              "history": list(decision.history)}
    try:
        store = DelayStore(rt.redis, rt.settings.key_prefix)
        store.park(location, event, reason=decision.reason, wait_ms=decision.retry_in_ms,
                   kwargs=kwargs)
    except Exception as exc:
        log.error("park failed; dead-lettering the event instead", label=safe_label(event),
                  error=f"{type(exc).__name__}: {exc}")
        _keep_in_dlq(event, f"could not be parked ({type(exc).__name__}: {exc}) while "
                     f"waiting: {decision.detail}", DeadKind.PARK_FAILED, task.request.id,
                     decision.history)
        raise DeadLettered(f"could not be parked: {exc}") from None
    return f"parked ({decision.reason}) for {decision.retry_in_ms} ms: {decision.detail}"


def _keep_in_dlq(event: dict[str, Any], reason: str, kind: DeadKind, task_id: str | None,
                 history: Sequence[str]) -> None:
    """Write the dead letter; if Redis refuses, leave the message unacknowledged."""
    try:
        rt = get_runtime()
        DeadLetterStore(rt.redis, rt.settings.key_prefix).add(
            event, reason, kind, task_id=task_id, history=list(history))
        from worker.stats import Counted, Stats

        stats = Stats(rt.redis, rt.settings.key_prefix)
        stats.finish(Counted.DEAD_LETTERED, str(event.get("type", "?")) if isinstance(event, dict)
                     else "?", DeadLetterStore.entry_id(event), kind)
    except Exception as exc:
        leave_unacknowledged(task_id)
        log.error("event kept in the broker: neither parked nor dead-lettered; it comes back "
                  "after the visibility timeout", label=safe_label(event),
                  error=f"{type(exc).__name__}: {exc}")
        raise NotKept(f"{type(exc).__name__}: {exc}") from None


def leave_unacknowledged(task_id: str | None) -> bool:
    """Mark this worker's request for ``task_id`` as acknowledged WITHOUT acknowledging
    it, so Celery neither acks nor rejects the message, and hand the message to kombu's
    ``unacked`` hash (``worker.broker.leave_in_broker``): kombu's sweep re-delivers it
    after the visibility timeout, from this worker or another. True when found.

    Works with the threads and solo pools (the request lives in this process; with
    prefork it does not, and the message is then acknowledged as a failure). Until Redis
    takes the move (the transport retries it), the message stays in this worker's
    processing list: given back when the worker stops, or by the sweep if it dies.
    """
    from celery.worker import state

    from worker.broker import leave_in_broker

    for request in list(state.active_requests):
        if request.id == task_id:
            request.acknowledged = True
            leave_in_broker(request.message)
            return True
    log.error("could not leave the message unacknowledged: request not found", task_id=task_id)
    return False
