"""task.created / updated / completed / deleted: one GHL task per Toky task_id."""

from __future__ import annotations

from clients.ghl.errors import GhlNotFoundError
from contract.events import Event, object_key
from worker.idmap import IdMap
from worker.mapping import new_task_payload, parse_time, task_fields
from worker.sync.children import TASK, delete_child, write_child
from worker.sync.context import SyncContext
from worker.sync.mapped import mapped
from worker.sync.outcome import Deferred, Outcome


def task_written(event: Event, ctx: SyncContext) -> Outcome:
    """task.created / task.updated: the mapped task gets the fields given, else it is made
    (title defaults to the body's first line, due date to the event's time)."""
    data = event["data"]
    key = object_key(event)
    changes = mapped(task_fields, data, ctx.field_map, key)
    if not changes and IdMap.for_context(ctx).get(key) is not None:
        return Outcome.skipped("no task fields to change")
    payload = mapped(new_task_payload, data, ctx.field_map, key,
                     parse_time(event["occurred_at"]))
    task, done = write_child(ctx, TASK, key, payload, phone=data["phone"],
                             update_payload=changes)
    return Outcome.applied(f"task {done}", contact=task.contact_id, task=task.ghl_id)


def task_completed(event: Event, ctx: SyncContext) -> Outcome:
    """task.completed: the flag set through GHL's ``/completed`` endpoint."""
    key = object_key(event)
    ids = IdMap.for_context(ctx)
    task = ids.get(key)
    if task is None:
        raise Deferred(f"GHL has no task for {key} yet (its task.created not applied)")
    completed = event["data"].get("completed", True)
    try:
        ctx.client.complete_task(task.contact_id, task.ghl_id, completed)
    except GhlNotFoundError:
        ids.forget(key)
        return Outcome.skipped(f"task for {key} is gone from GHL", task=task.ghl_id)
    state = "completed" if completed else "reopened"
    return Outcome.applied(f"task {state}", contact=task.contact_id, task=task.ghl_id)


def task_deleted(event: Event, ctx: SyncContext) -> Outcome:
    return delete_child(ctx, TASK, object_key(event))
