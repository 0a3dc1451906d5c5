"""The open follow-up task for a missed inbound call or a voicemail.

Created once per call or voicemail (key ``followup:<object key>``), never
updated afterwards: once it exists it belongs to the people working it.
Title "Call back <caller>"; due ``FOLLOWUP_DUE_MINUTES`` after the call's time
(``data.date``, else ``occurred_at``); assigned to the GHL user mapped to the
Toky agent when the field map has one.
"""

from __future__ import annotations

from contract.events import Event, object_key
from worker.idmap import Child, IdMap
from worker.mapping import followup_task_payload, parse_time
from worker.sync.children import TASK, create_once
from worker.sync.context import SyncContext


def followup_key(event: Event) -> str:
    """``followup:call:<callid>``, ``followup:voicemail:<id>``."""
    return f"followup:{object_key(event)}"


def ensure_followup(event: Event, ctx: SyncContext, *, contact_id: str, phone: str,
                    reason: str) -> Child:
    """The follow-up task of ``event`` on ``contact_id``: the mapped one, else created once."""
    key = followup_key(event)
    existing = IdMap.for_context(ctx).get(key)
    if existing is not None:
        return existing
    data = event["data"]
    payload = followup_task_payload(
        caller=phone, reason=reason,
        at=parse_time(data.get("date") or event["occurred_at"]),
        due_minutes=ctx.settings.followup_due_minutes, key=key,
        assigned_to=ctx.field_map.user_for(data.get("agent")),
    )
    child, _ = create_once(ctx, TASK, key, payload, contact_id=contact_id, phone=phone)
    return child
