"""The contract's table as actions: each of today's handlers, by name.

The default rules (``worker/rules/default.yaml``) call exactly these, so with
no rules file of one's own every event does what the contract's table says.
They take no parameters (what they write comes from the event and the field map),
except ``key``: ``complete_task``, ``delete_task``, ``delete_note`` and
``cancel_appointment`` given one act on the object a rule created under that key,
on any event (``worker.rules.actions.updates``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from worker.rules.actions.base import TOKY_API_KEY, Action, ActionRun
from worker.rules.actions.updates import KEYED_CHANGES
from worker.sync import HANDLERS
from worker.sync.outcome import Outcome

_CONTACTS = "contacts.write"
_IDMAP = ("the id map in Redis (Toky key → GHL id), and before re-creating, a lookup in "
          "GHL for the object carrying the Toky key")


def _handler(event_type: str) -> Callable[[ActionRun], Outcome]:
    return lambda run: HANDLERS[event_type](run.event, run.ctx)


def _contract(name: str, summary: str, requests: tuple[str, ...], events: tuple[str, ...],
              idempotent: str, scopes: tuple[str, ...] = (_CONTACTS,)) -> Action:
    return Action(name=name, summary=summary, requests=requests, scopes=scopes, params=(),
                  idempotent=idempotent, run=lambda run: _handler(run.event["type"])(run),
                  events=events)


def _keyed(action: Action) -> Action:
    """``action`` taking ``key:`` too, when it is one of ``KEYED_CHANGES``."""
    if action.name not in KEYED_CHANGES:
        return action
    params, idempotent, run = KEYED_CHANGES[action.name]
    return replace(action, params=params, idempotent=f"{action.idempotent}; {idempotent}",
                   run=run, keyed=True)


_CONTRACT_ACTIONS: tuple[Action, ...] = (
    _contract("sync_contact", "the one GHL contact of the phone, with the mapped fields and tags",
              ("PUT /contacts/{contactId}", "POST /contacts/upsert"),
              ("contact.created", "contact.updated"),
              "an upsert by phone, or a PUT of the contact the id map knows; an unchanged "
              "payload sends nothing"),
    _contract("delete_contact", "the phone's GHL contact deleted",
              ("GET /contacts/search/duplicate", "DELETE /contacts/{contactId}"),
              ("contact.deleted",), "deleting what is gone already is a success"),
    _contract("add_event_tags", "the event's tags added to the contact (made first if new)",
              ("POST /contacts/{contactId}/tags",), ("contact.tags_added",),
              "adding a tag the contact has changes nothing"),
    _contract("remove_event_tags", "the event's tags removed from the contact",
              ("DELETE /contacts/{contactId}/tags",), ("contact.tags_removed",),
              "removing a tag the contact lacks changes nothing"),
    _contract("log_call", "one note per callid on the caller's contact; a missed inbound "
              "call also gets one open follow-up task (FOLLOWUP_DUE_MINUTES)",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}",
               "POST /contacts/{contactId}/tasks"), ("call.ended",), _IDMAP),
    _contract("log_voicemail", "one note per voicemail and one open follow-up task",
              ("POST /contacts/{contactId}/notes", "POST /contacts/{contactId}/tasks"),
              ("voicemail.created",), _IDMAP),
    _contract("log_sms", "one note per sms id on the customer's contact",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}"),
              ("sms.received", "sms.sent"), _IDMAP),
    _contract("sync_task", "one GHL task per Toky task_id with its fields",
              ("POST /contacts/{contactId}/tasks", "PUT /contacts/{contactId}/tasks/{taskId}"),
              ("task.created", "task.updated"), _IDMAP),
    _contract("complete_task", "the task's completed flag, through /completed",
              ("PUT /contacts/{contactId}/tasks/{taskId}/completed",), ("task.completed",),
              "setting the flag again changes nothing"),
    _contract("delete_task", "the task deleted",
              ("DELETE /contacts/{contactId}/tasks/{taskId}",), ("task.deleted",),
              "deleting what is gone already is a success"),
    _contract("sync_note", "one GHL note per Toky note_id",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}"),
              ("note.created", "note.updated"), _IDMAP),
    _contract("delete_note", "the note deleted",
              ("DELETE /contacts/{contactId}/notes/{id}",), ("note.deleted",),
              "deleting what is gone already is a success"),
    _contract("sync_appointment", "one GHL appointment per appointment_id on GHL_CALENDAR_ID",
              ("POST /calendars/events/appointments",
               "PUT /calendars/events/appointments/{eventId}"),
              ("appointment.created", "appointment.updated"), _IDMAP,
              scopes=(_CONTACTS, "calendars/events.write")),
    _contract("cancel_appointment", "the appointment's status becomes cancelled",
              ("PUT /calendars/events/appointments/{eventId}",), ("appointment.cancelled",),
              "setting the status again changes nothing",
              scopes=(_CONTACTS, "calendars/events.write")),
    _contract("mirror_contact_to_toky", "the GHL contact created or updated in Toky (one "
              "contact per phone): only the fields that differ",
              ("Toky GET /contacts/{phone}", "Toky PUT /contacts/{phone}", "Toky POST /contacts"),
              ("ghl.contact.created", "ghl.contact.updated"),
              "Toky keeps one contact per phone: a POST for a phone it has becomes a PUT",
              scopes=(TOKY_API_KEY,)),
)
CONTRACT_ACTIONS: tuple[Action, ...] = tuple(_keyed(a) for a in _CONTRACT_ACTIONS)
