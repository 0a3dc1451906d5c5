"""Every log line of a task carries the event's id, type, Toky key, the task id and
the GHL location: bound in structlog's context variables when the task starts
(``task_prerun``) and cleared when it ends (``task_postrun``).

Context variables are per thread in the threads pool, so concurrent tasks
never mix their context. Lines in a task's thread include Celery's own
("succeeded", "retry", "failed"), the GHL client's (``ghl.request``) and the
rate limiter's. Celery's "received" line is logged by the consumer thread
before the task starts; it names the task id only.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import signals

from toky_ghl.settings import get_settings

CONTEXT_KEYS = ("event_id", "event_type", "toky_key", "task_id", "location")


def task_context(event: Any, task_id: str | None, location: str | None) -> dict[str, Any]:
    """The context of one task of ``event`` (which may be invalid: then what it has)."""
    from contract.events import object_key

    data = event if isinstance(event, dict) else {}
    try:
        key = object_key(data)
    except Exception:  # an invalid event still logs its id and type
        key = None
    return {"event_id": data.get("id"), "event_type": data.get("type"), "toky_key": key,
            "task_id": task_id, "location": location}


@signals.task_prerun.connect
def bind_task_context(task_id: str | None = None, args: Any = None, **_kwargs: Any) -> None:
    event = args[0] if args else None
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        **task_context(event, task_id, get_settings().ghl_location_id))


@signals.task_postrun.connect
def clear_task_context(**_kwargs: Any) -> None:
    structlog.contextvars.clear_contextvars()
