"""Sync logic: one plain handler per event type of the contract's table.

A handler takes the validated event and a ``SyncContext`` and answers an
``Outcome``. GHL errors propagate (the pipeline decides retry or dead letter);
``Unprocessable`` means the event can never apply, ``Deferred`` that it changes
an object GHL does not have yet.
"""

from __future__ import annotations

from collections.abc import Callable

from producers.events import Event
from worker.sync.appointments import appointment_cancelled, appointment_written
from worker.sync.calls import call_ended
from worker.sync.contacts import contact_deleted, contact_written, tags_added, tags_removed
from worker.sync.context import SyncContext
from worker.sync.ensure_contact import ensure_contact
from worker.sync.messages import sms_logged, voicemail_created
from worker.sync.mirror import contact_mirrored
from worker.sync.notes import note_deleted, note_written
from worker.sync.outcome import Outcome
from worker.sync.tasks import task_completed, task_deleted, task_written

Handler = Callable[[Event, SyncContext], Outcome]

HANDLERS: dict[str, Handler] = {
    "contact.created": contact_written,
    "contact.updated": contact_written,
    "contact.deleted": contact_deleted,
    "contact.tags_added": tags_added,
    "contact.tags_removed": tags_removed,
    "call.ended": call_ended,
    "voicemail.created": voicemail_created,
    "sms.received": sms_logged,
    "sms.sent": sms_logged,
    "task.created": task_written,
    "task.updated": task_written,
    "task.completed": task_completed,
    "task.deleted": task_deleted,
    "note.created": note_written,
    "note.updated": note_written,
    "note.deleted": note_deleted,
    "appointment.created": appointment_written,
    "appointment.updated": appointment_written,
    "appointment.cancelled": appointment_cancelled,
    # Extension: the GHL → Toky contact mirror.
    "ghl.contact.created": contact_mirrored,
    "ghl.contact.updated": contact_mirrored,
}

__all__ = ["HANDLERS", "Handler", "ensure_contact"]
