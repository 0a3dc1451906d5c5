"""Sync logic: one plain handler per action of the contract's table.

A handler takes the validated event and a ``SyncContext`` and answers an
``Outcome``. GHL errors propagate (the pipeline decides retry or dead letter);
``Unprocessable`` means the event can never apply, ``Deferred`` that it changes
an object GHL does not have yet.
"""

from __future__ import annotations

from collections.abc import Callable

from contract.event_types import EVENT_SPECS
from contract.events import Event
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

#: The handler of each built-in action (``contract.event_types`` says which action applies
#: which event type).
ACTION_HANDLERS: dict[str, Handler] = {
    "sync_contact": contact_written,
    "delete_contact": contact_deleted,
    "add_event_tags": tags_added,
    "remove_event_tags": tags_removed,
    "log_call": call_ended,
    "log_voicemail": voicemail_created,
    "log_sms": sms_logged,
    "sync_task": task_written,
    "complete_task": task_completed,
    "delete_task": task_deleted,
    "sync_note": note_written,
    "delete_note": note_deleted,
    "sync_appointment": appointment_written,
    "cancel_appointment": appointment_cancelled,
    "mirror_contact_to_toky": contact_mirrored,
}

#: The handler of each event type of the registry.
HANDLERS: dict[str, Handler] = {
    event_type: ACTION_HANDLERS[spec.action] for event_type, spec in EVENT_SPECS.items()}

__all__ = ["ACTION_HANDLERS", "HANDLERS", "Handler", "ensure_contact"]
