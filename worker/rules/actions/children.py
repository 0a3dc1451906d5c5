"""Actions creating a task or a note on the customer's contact, once per event and rule.

Each created object carries the marker of its idempotency key
(``[toky:rule:<event id>:<rule>:<position>]`` at the end of its body), and is
written through the same create-once path as the contract's notes and tasks:
an intent in the id map first, and a retry after a lost answer looks for the
marked object in GHL and adopts it instead of creating a second one.

With ``key:`` the object is named instead (``worker.rules.objects``): its id-map
entry and marker are ``rule:key:<key>``, a create finding that key mapped already
makes nothing, and later actions (``update_task``, ``complete_task``, ...) reach
it by the same key, latest wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.idmap import IdMap
from worker.mapping import parse_time
from worker.mapping.fields import ghl_utc_seconds
from worker.mapping.markers import with_marker
from worker.rules import objects
from worker.rules.actions.base import Action, ActionRun
from worker.rules.actions.contacts import WRITE, _phone
from worker.rules.params import BOOL, DURATION, GHL_ID, KEY, TEXT, USER, Param
from worker.sync.children import APPOINTMENT, NOTE, TASK, ChildKind, create_once
from worker.sync.ensure_contact import with_contact
from worker.sync.outcome import Outcome, Status, Unprocessable


def child_key(run: ActionRun) -> str:
    """The id-map key and marker of what this action creates for this event: the
    object's ``key:`` when the rule names it, else the action's idempotency key."""
    named = run.params.get("key")
    return objects.object_key(named) if named else f"rule:{run.key}"


def event_time(run: ActionRun) -> datetime:
    return parse_time(run.event["data"].get("date") or run.event["occurred_at"])


def assignee(run: ActionRun, value: str | None) -> str | None:
    """A GHL user id: ``value`` itself, or the user the field map gives a Toky agent email.

    An email the map does not know leaves the task unassigned (logged), as the
    contract's follow-up task does.
    """
    value = (value or "").strip()
    if not value:
        return None
    if "@" not in value:
        return value
    user = run.ctx.field_map.user_for(value)
    if user is None:
        run.ctx.log.info("no GHL user mapped to the agent; task unassigned", agent=value)
    return user


def _create(run: ActionRun, kind: ChildKind, payload: dict[str, Any], what: str) -> Outcome:
    named = run.params.get("key")
    if not named:
        return _create_once(run, kind, payload, what)
    okey = child_key(run)
    with objects.held(run, okey):
        why = objects.stale(run, okey, f"{what} '{named}'", reviving=True)
        if why:
            return Outcome.skipped(why)
        outcome = _create_once(run, kind, payload, f"{what} '{named}'")
        if outcome.status is Status.APPLIED:
            objects.record_version(run, okey)
        return outcome


def _create_once(run: ActionRun, kind: ChildKind, payload: dict[str, Any],
                 what: str) -> Outcome:
    key = child_key(run)
    ids = IdMap.for_context(run.ctx)
    existing = ids.get(key)
    if existing is not None:
        return Outcome.skipped(f"{what} exists already", **{kind.name: existing.ghl_id})
    phone = _phone(run)
    contact_id, (child, adopted) = with_contact(
        phone, run.ctx, lambda cid: create_once(run.ctx, kind, key, payload, contact_id=cid,
                                                phone=phone),
        name=run.event["data"].get("contact_name"))
    return Outcome.applied(f"{what} {'adopted' if adopted else 'created'}",
                           contact=contact_id, **{kind.name: child.ghl_id})


def _create_task(run: ActionRun) -> Outcome:
    params = run.params
    title = (params["title"] or "").strip()
    if not title:
        raise Unprocessable("create_task: the title rendered empty")
    payload: dict[str, Any] = {
        "title": title[:200],
        "body": with_marker(params.get("body"), child_key(run)),
        "dueDate": ghl_utc_seconds(event_time(run) + params["due_in"]),
        "completed": bool(params.get("completed")),
    }
    user = assignee(run, params.get("assignee"))
    if user:
        payload["assignedTo"] = user
    return _create(run, TASK, payload, "task")


def _book_appointment(run: ActionRun) -> Outcome:
    params = run.params
    calendar = params.get("calendar_id") or run.ctx.settings.ghl_calendar_id
    if not calendar:
        raise Unprocessable("book_appointment: no calendar_id and GHL_CALENDAR_ID is not set")
    title = (params["title"] or "").strip()
    if not title:
        raise Unprocessable("book_appointment: the title rendered empty")
    start = event_time(run) + params["start_in"]
    payload: dict[str, Any] = {
        "calendarId": calendar,
        "startTime": start.isoformat(),
        "endTime": (start + params["length"]).isoformat(),
        "title": title[:200],
        "description": with_marker(params.get("description"), child_key(run)),
        "ignoreFreeSlotValidation": True,  # the slot is the rule's choice, as Toky's are
        "toNotify": bool(params.get("notify")),
    }
    user = assignee(run, params.get("assignee"))
    if user:
        payload["assignedUserId"] = user
    return _create(run, APPOINTMENT, payload, "appointment")


def _create_note(run: ActionRun) -> Outcome:
    body = (run.params["body"] or "").strip()
    if not body:
        raise Unprocessable("create_note: the body rendered empty")
    return _create(run, NOTE, {"body": with_marker(body, child_key(run))}, "note")


_ONCE = ("created once per event and rule: its body ends with the marker of "
         "<event id>:<rule>:<position> (of its key: when named), and a retry after a lost "
         "answer adopts the marked object instead of making another; with key:, a key "
         "mapped already makes nothing, and an event older than the key's last write is "
         "skipped (latest wins)")


def key_param(what: str) -> Param:
    return Param("key", KEY, f"names the {what} (template), so later actions of any rule "
                 f"update, complete, delete or cancel it by the same key, e.g. "
                 f"'callback-{{{{ data.from_number }}}}'; a {what} already made under this key "
                 "is not made again")


CHILD_ACTIONS: tuple[Action, ...] = (
    Action("create_task", "a task on the customer's contact, due some time after the event",
           ("POST /contacts/{contactId}/tasks",), WRITE,
           (Param("title", TEXT, "the task's title (template)", required=True),
            Param("body", TEXT, "the task's description (template)"),
            Param("due_in", DURATION, "due this long after the event's time "
                  "(data.date, else occurred_at)", default="60m"),
            Param("assignee", USER, "GHL user id or Toky agent email, e.g. "
                  "'{{ data.agent }}'"),
            Param("completed", BOOL, "create it completed", default=False),
            key_param("task")),
           _ONCE, _create_task),
    Action("book_appointment", "an appointment with the customer's contact, some time after "
           "the event, on GHL_CALENDAR_ID or the given calendar",
           ("POST /calendars/events/appointments", "GET /contacts/{contactId}/appointments"),
           ("contacts.write", "contacts.readonly", "calendars/events.write"),
           (Param("title", TEXT, "the appointment's title (template)", required=True),
            Param("start_in", DURATION, "starts this long after the event's time",
                  default="1d"),
            Param("length", DURATION, "how long it lasts", default="30m"),
            Param("calendar_id", GHL_ID, "the calendar (default GHL_CALENDAR_ID)"),
            Param("description", TEXT, "its description (template)"),
            Param("assignee", USER, "GHL user id or Toky agent email"),
            Param("notify", BOOL, "let GHL run the calendar's automations (toNotify)",
                  default=False),
            key_param("appointment")),
           "created once per event and rule: its description ends with the key's marker, and "
           "a retry after a lost answer finds it by that marker or by calendar and start time; "
           "with key:, a key mapped already makes nothing, and an event older than the key's "
           "last write is skipped (latest wins)",
           _book_appointment),
    Action("create_note", "a note on the customer's contact",
           ("POST /contacts/{contactId}/notes",), WRITE,
           (Param("body", TEXT, "the note's text (template)", required=True),
            key_param("note")),
           _ONCE, _create_note),
)
