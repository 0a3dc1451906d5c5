"""Toky task → GHL task fields, and the follow-up task for a missed call or a voicemail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from marshmallow import EXCLUDE, Schema, fields, pre_load

from worker.fieldmap import FieldMap
from worker.mapping.fields import CleanText, UtcSeconds, ghl_utc_seconds
from worker.mapping.markers import with_marker

FALLBACK_TITLE = "Task from Toky"


class TaskSchema(Schema):
    """Toky task ``data`` → the GHL task fields it gives (only those set).

    ``dueDate`` is UTC without milliseconds (GHL refuses them on update);
    ``assignee`` is the Toky agent's email, turned into ``assignedTo`` by
    ``task_fields`` with the field map.
    """

    class Meta:
        unknown = EXCLUDE

    title = CleanText()
    body = CleanText()
    dueDate = UtcSeconds(data_key="due_date")
    completed = fields.Boolean()
    assignee = CleanText()

    @pre_load
    def _drop_unset(self, data: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v is not None}


_SCHEMA = TaskSchema()


def task_fields(data: Mapping[str, Any], field_map: FieldMap, key: str) -> dict[str, Any]:
    """The GHL task fields a Toky task sets: for an update, exactly these are sent.

    The body (when given) ends with the task's Toky key; ``assignedTo`` is the
    GHL user mapped to the assignee (left out when the map has none).
    """
    loaded = _SCHEMA.load(data)
    assignee = loaded.pop("assignee", None)
    user_id = field_map.user_for(assignee)
    if user_id:
        loaded["assignedTo"] = user_id
    if "body" in loaded:
        loaded["body"] = with_marker(loaded["body"], key)
    return cast(dict[str, Any], loaded)


def new_task_payload(
    data: Mapping[str, Any], field_map: FieldMap, key: str, due_default: datetime
) -> dict[str, Any]:
    """A create payload: ``task_fields`` plus what GHL requires (title, dueDate, completed).

    Without a title, the body's first line (or a fixed title) is used; without
    a due date, ``due_default``; without ``completed``, false. The body always
    carries the Toky key.
    """
    payload = task_fields(data, field_map, key)
    body_text = (data.get("body") or "").strip()
    payload.setdefault("title", body_text.splitlines()[0][:80] if body_text else FALLBACK_TITLE)
    payload.setdefault("body", with_marker(None, key))
    payload.setdefault("dueDate", ghl_utc_seconds(due_default))
    payload.setdefault("completed", False)
    return payload


def followup_task_payload(
    *, caller: str, reason: str, at: datetime, due_minutes: int, key: str,
    assigned_to: str | None = None,
) -> dict[str, Any]:
    """The open follow-up task for a missed call or voicemail from ``caller``.

    ``reason`` says what happened ("Missed call", "Voicemail"); ``at`` is when;
    due ``due_minutes`` after it.
    """
    payload: dict[str, Any] = {
        "title": f"Call back {caller}",
        "body": with_marker(f"{reason} from {caller} at {ghl_utc_seconds(at)}.", key),
        "dueDate": ghl_utc_seconds(at + timedelta(minutes=due_minutes)),
        "completed": False,
    }
    if assigned_to:
        payload["assignedTo"] = assigned_to
    return payload
