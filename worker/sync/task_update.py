"""``PUT /contacts/{contactId}/tasks/{taskId}`` always with ``title`` and ``dueDate``.

GHL's spec (apps/contacts.json, UpdateTaskBody) requires nothing on an update,
but n8n's HighLevel node (packages/nodes-base/nodes/HighLevel/v2/GenericFunctions.ts,
``taskUpdatePreSendAction``) fetches the task first and always sends both, with
the ``dueDate`` GHL answered stripped of its milliseconds ("the api response
dueDate has to be formatted or it will error on update"). This does the same:
a change without them costs one GET more.
"""

from __future__ import annotations

from typing import Any

from clients.ghl.api import GhlRecords
from worker.idmap import Child
from worker.mapping import ghl_utc_seconds, parse_time
from worker.mapping.tasks import FALLBACK_TITLE


def full_task_update(client: GhlRecords, task: Child, changes: dict[str, Any]) -> dict[str, Any]:
    """Send ``changes`` to ``task``, completed with its current ``title`` and ``dueDate``
    (read from GHL, ``dueDate`` as ``YYYY-MM-DDTHH:MM:SSZ``) when ``changes`` lacks them.
    A task GHL no longer has raises ``GhlNotFoundError`` from the read."""
    payload = dict(changes)
    if not payload.get("title") or not payload.get("dueDate"):
        current = client.get_task(task.contact_id, task.ghl_id) or {}
        payload.setdefault("title", current.get("title") or FALLBACK_TITLE)
        if not payload.get("dueDate") and current.get("dueDate"):
            payload["dueDate"] = ghl_utc_seconds(parse_time(str(current["dueDate"])))
    return client.update_task(task.contact_id, task.ghl_id, payload)
