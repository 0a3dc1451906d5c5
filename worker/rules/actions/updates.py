"""Actions changing a task, note or appointment that exists: update, complete, delete, cancel.

The object is the one a rule created with the same ``key:`` (``worker.rules.objects``:
latest wins per key, one writer at a time), or without ``key:`` the Toky object the
event itself is about (``task:<task_id>`` on task events, ...), whose latest-wins
check the pipeline made before any rule ran.

An object not known yet is treated as the contract's handlers treat a
``task.completed`` before its ``task.created``: an update, completion or
cancellation waits (the event is parked and retried; when the attempts run out it
is dead-lettered naming the rule and the action), while a delete of what GHL never
had is done already (skipped; a key keeps a tombstone so an older create arriving
later makes nothing). An object gone from GHL is forgotten and the action skipped.

Endpoints (GoHighLevel/highlevel-api-docs): apps/contacts.json
``PUT /contacts/{contactId}/tasks/{taskId}`` (UpdateTaskBody: title, body, dueDate,
completed, assignedTo), ``PUT /contacts/{contactId}/tasks/{taskId}/completed``
(UpdateTaskStatusParams ``{completed}``), ``DELETE /contacts/{contactId}/tasks/{taskId}``,
``PUT /contacts/{contactId}/notes/{id}`` (UpdateNoteDTO: body, userId, ...),
``DELETE /contacts/{contactId}/notes/{id}``; apps/calendars.json
``PUT /calendars/events/appointments/{eventId}`` (AppointmentEditSchema: title,
appointmentStatus, assignedUserId, description, startTime, endTime, toNotify, ...).
Scopes as the spec's ``security``: contacts.write (contacts.readonly for the GET of a
task an update completes with its title and due date), calendars/events.write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clients.ghl.errors import GhlNotFoundError
from contract.events import object_key as event_object_key
from worker.idmap import Child, IdMap
from worker.mapping import cancelled_payload
from worker.mapping.fields import ghl_utc_seconds
from worker.mapping.markers import with_marker
from worker.rules import objects
from worker.rules.actions.base import Action, ActionRun
from worker.rules.actions.children import assignee, event_time
from worker.rules.params import BOOL, CHOICE, DURATION, KEY, TEXT, USER, Param
from worker.sync import HANDLERS
from worker.sync.children import APPOINTMENT, NOTE, TASK, ChildKind
from worker.sync.outcome import Deferred, Outcome, Unprocessable

TASK_EVENTS = ("task.created", "task.updated", "task.completed")
NOTE_EVENTS = ("note.created", "note.updated")
APPOINTMENT_EVENTS = ("appointment.created", "appointment.updated")
#: appointmentStatus of AppointmentEditSchema (apps/calendars.json).
APPOINTMENT_STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
_CALENDARS = "calendars/events.write"

#: (run, the object, the key it is mapped under) → what was done, for the Outcome.
Write = Callable[[ActionRun, Child, str], str]


def _target(run: ActionRun) -> tuple[str, str | None]:
    """(the id-map key of the object, the rule's name for it or None for the event's own)."""
    named = run.params.get("key")
    if named:
        return objects.object_key(named), named
    return event_object_key(run.event), None


def change(kind: ChildKind, write: Write, *, deleting: bool = False
           ) -> Callable[[ActionRun], Outcome]:
    """An action's run: ``write`` applied to the object, with the rules above."""
    def run_it(run: ActionRun) -> Outcome:
        key, named = _target(run)
        what = f"{kind.name} '{named}'" if named else f"{kind.name} of {key}"
        if named is None:
            return _apply(run, kind, key, what, write, deleting)
        with objects.held(run, key):
            why = objects.stale(run, key, what)
            if why:
                return Outcome.skipped(why)
            outcome = _apply(run, kind, key, what, write, deleting)
            objects.record_version(run, key, tombstone=deleting)
            return outcome
    return run_it


def _apply(run: ActionRun, kind: ChildKind, key: str, what: str, write: Write,
           deleting: bool) -> Outcome:
    ids = IdMap.for_context(run.ctx)
    child = ids.get(key)
    if child is None:
        if deleting:
            return Outcome.skipped(f"GHL has no {what}: nothing to delete")
        if run.params.get("if_missing") == "skip":
            return Outcome.skipped(f"GHL has no {what} (if_missing: skip)")
        raise Deferred(f"GHL has no {what} yet (the action creating it has not run)")
    try:
        done = write(run, child, key)
    except GhlNotFoundError:
        ids.forget(key)
        return Outcome.skipped(f"the {what} is gone from GHL", **{kind.name: child.ghl_id})
    if deleting:
        ids.forget(key)
    return Outcome.applied(f"{kind.name} {done}", contact=child.contact_id,
                           **{kind.name: child.ghl_id})


def keyed_or_contract(action: Callable[[ActionRun], Outcome]) -> Callable[[ActionRun], Outcome]:
    """With ``key:``, ``action``; without, the contract's handler of the event (the
    built-in rules' behaviour, on the event's own object; ``if_missing: skip`` turns its
    wait for an object not made yet into a skip)."""
    def run_it(run: ActionRun) -> Outcome:
        if run.params.get("key"):
            return action(run)
        try:
            return HANDLERS[run.event["type"]](run.event, run.ctx)
        except Deferred as exc:  # not a wait for a lock (retry_after_ms): an unknown object
            if run.params.get("if_missing") == "skip" and exc.retry_after_ms is None:
                return Outcome.skipped(f"{exc} (if_missing: skip)")
            raise
    return run_it


# -- tasks -----------------------------------------------------------------------
def _changes(run: ActionRun, key: str, action: str, text: str, user_field: str
             ) -> dict[str, Any]:
    """The title, the ``text`` parameter (``body``, ``description``: ending with the
    object's marker) and the assignee (as ``user_field``) an update sets, when given."""
    params = run.params
    payload: dict[str, Any] = {}
    if params.get("title") is not None:
        title = params["title"].strip()
        if not title:
            raise Unprocessable(f"{action}: the title rendered empty")
        payload["title"] = title[:200]
    if params.get(text) is not None:
        payload[text] = with_marker(params[text], key)
    if params.get("assignee") is not None:
        user = assignee(run, params["assignee"])
        if user:
            payload[user_field] = user
    return payload


def _task_update(run: ActionRun, task: Child, key: str) -> str:
    params = run.params
    payload = _changes(run, key, "update_task", "body", "assignedTo")
    if params.get("due_in") is not None:
        payload["dueDate"] = ghl_utc_seconds(event_time(run) + params["due_in"])
    if params.get("completed") is not None:
        payload["completed"] = params["completed"]
    if not payload:
        raise Unprocessable("update_task: nothing to change (the assignee is not mapped)")
    TASK.update(run.ctx.client, task, payload)
    return f"updated: {', '.join(sorted(payload))}"


def _task_complete(run: ActionRun, task: Child, _key: str) -> str:
    run.ctx.client.complete_task(task.contact_id, task.ghl_id, True)
    return "completed"


def _task_delete(run: ActionRun, task: Child, _key: str) -> str:
    run.ctx.client.delete_task(task.contact_id, task.ghl_id)
    return "deleted"


# -- notes -----------------------------------------------------------------------
def _note_update(run: ActionRun, note: Child, key: str) -> str:
    body = (run.params["body"] or "").strip()
    if not body:
        raise Unprocessable("update_note: the body rendered empty")
    run.ctx.client.update_note(note.contact_id, note.ghl_id, {"body": with_marker(body, key)})
    return "updated"


def _note_delete(run: ActionRun, note: Child, _key: str) -> str:
    run.ctx.client.delete_note(note.contact_id, note.ghl_id)
    return "deleted"


# -- appointments ----------------------------------------------------------------
def _appointment_update(run: ActionRun, appointment: Child, key: str) -> str:
    params = run.params
    payload = _changes(run, key, "update_appointment", "description", "assignedUserId")
    if params.get("start_in") is not None:
        start = event_time(run) + params["start_in"]
        payload["startTime"] = start.isoformat()
        payload["endTime"] = (start + params["length"]).isoformat()
    if params.get("status") is not None:
        payload["appointmentStatus"] = params["status"]
    if not payload:
        raise Unprocessable("update_appointment: nothing to change (the assignee is not "
                            "mapped)")
    notify = params.get("notify")
    payload["toNotify"] = bool(run.ctx.settings.ghl_appointment_notify if notify is None
                               else notify)
    APPOINTMENT.update(run.ctx.client, appointment, payload)
    return f"updated: {', '.join(sorted(k for k in payload if k != 'toNotify'))}"


def _appointment_cancel(run: ActionRun, appointment: Child, _key: str) -> str:
    APPOINTMENT.update(run.ctx.client, appointment,
                       cancelled_payload(notify=run.ctx.settings.ghl_appointment_notify))
    return "cancelled"


_CREATOR = {"task": "create_task", "note": "create_note", "appointment": "book_appointment"}


def _key(what: str, events: tuple[str, ...]) -> Param:
    return Param("key", KEY, f"the {what}'s key, as given to the {_CREATOR[what]} that made "
                 f"it (template); without it, the {what} the event is about "
                 f"({', '.join(events)} events only)")


#: What an update, completion or cancellation does when its object is not known (yet).
IF_MISSING = Param("if_missing", CHOICE, "when the object is not known (yet): wait (the event "
                   "is parked and retried, for an out-of-order create; dead-lettered when the "
                   "attempts run out) or skip (nothing to do)", default="wait",
                   choices=("wait", "skip"))

_KEYED = ("an update of the same values changes nothing; with key:, an event older than "
          "the key's last write is skipped (latest wins); an object not made yet makes the "
          "event wait (parked, retried, then dead-lettered naming the rule and action) or, "
          "with if_missing: skip, is skipped")
_GONE = ("with key:, the key keeps a tombstone, so an older create arriving later makes "
         "nothing")
_AGAIN = ("with key:, an event older than the key's last write is skipped (latest wins) and "
          "an object not made yet makes the event wait (or, with if_missing: skip, is skipped)")

UPDATE_ACTIONS: tuple[Action, ...] = (
    Action("update_task", "fields of a task changed: one a rule made (key:) or the event's own",
           ("PUT /contacts/{contactId}/tasks/{taskId}",
            "GET /contacts/{contactId}/tasks/{taskId}"),
           ("contacts.readonly", "contacts.write"),
           (_key("task", TASK_EVENTS),
            Param("title", TEXT, "its new title (template)"),
            Param("body", TEXT, "its new description (template)"),
            Param("due_in", DURATION, "due this long after the event's time"),
            Param("assignee", USER, "GHL user id or Toky agent email"),
            Param("completed", BOOL, "completed or open"), IF_MISSING),
           _KEYED, change(TASK, _task_update), events=TASK_EVENTS, keyed=True,
           needs_one_of=("title", "body", "due_in", "assignee", "completed")),
    Action("update_note", "the text of a note changed: one a rule made (key:) or the event's own",
           ("PUT /contacts/{contactId}/notes/{id}",), ("contacts.write",),
           (_key("note", NOTE_EVENTS),
            Param("body", TEXT, "its new text (template)", required=True), IF_MISSING),
           _KEYED, change(NOTE, _note_update), events=NOTE_EVENTS, keyed=True),
    Action("update_appointment", "an appointment changed: one a rule made (key:) or the "
           "event's own",
           ("PUT /calendars/events/appointments/{eventId}",), (_CALENDARS,),
           (_key("appointment", APPOINTMENT_EVENTS),
            Param("title", TEXT, "its new title (template)"),
            Param("start_in", DURATION, "now starts this long after the event's time"),
            Param("length", DURATION, "how long it lasts (with start_in)", default="30m"),
            Param("description", TEXT, "its new description (template)"),
            Param("assignee", USER, "GHL user id or Toky agent email"),
            Param("status", CHOICE, "its appointmentStatus", choices=APPOINTMENT_STATUSES),
            Param("notify", BOOL, "let GHL run the calendar's automations (toNotify; "
                  "default GHL_APPOINTMENT_NOTIFY)"), IF_MISSING),
           _KEYED, change(APPOINTMENT, _appointment_update), events=APPOINTMENT_EVENTS,
           keyed=True, needs_one_of=("title", "start_in", "description", "assignee", "status")),
)

#: The contract's complete/delete/cancel actions also take ``key:`` (and, for those that
#: wait for their object, ``if_missing``): worker.rules.actions.contract.
KEYED_CHANGES: dict[str, tuple[tuple[Param, ...], str, Callable[[ActionRun], Outcome]]] = {
    "complete_task": ((_key("task", ("task.completed",)), IF_MISSING), _AGAIN,
                      keyed_or_contract(change(TASK, _task_complete))),
    "delete_task": ((_key("task", ("task.deleted",)),), _GONE,
                    keyed_or_contract(change(TASK, _task_delete, deleting=True))),
    "delete_note": ((_key("note", ("note.deleted",)),), _GONE,
                    keyed_or_contract(change(NOTE, _note_delete, deleting=True))),
    "cancel_appointment": ((_key("appointment", ("appointment.cancelled",)), IF_MISSING),
                           _AGAIN, keyed_or_contract(change(APPOINTMENT, _appointment_cancel))),
}
