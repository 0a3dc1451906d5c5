"""The contract's table as actions: each of today's handlers, by name.

The default rules (``worker/rules/default.yaml``) call exactly these, so with
no rules file of one's own every event does what the contract's table says.
They take no parameters (what they write comes from the event and the field map),
except ``key``: ``complete_task``, ``delete_task``, ``delete_note`` and
``cancel_appointment`` given one act on the object a rule created under that key,
on any event (``worker.rules.actions.updates``).
"""

from __future__ import annotations

from dataclasses import replace

from contract.event_types import EVENT_SPECS, event_types_of
from worker.rules.actions.base import TOKY_API_KEY, Action
from worker.rules.actions.updates import KEYED_CHANGES
from worker.sync import ACTION_HANDLERS

_IDMAP = ("the id map in Redis (Toky key → GHL id), and before re-creating, a lookup in "
          "GHL for the object carrying the Toky key")


def _contract(name: str, summary: str, requests: tuple[str, ...], idempotent: str) -> Action:
    """The built-in action ``name``: its events and scopes are the registry's
    (``contract.event_types``); one that writes nothing to GHL needs ``TOKY_API_KEY``."""
    handler = ACTION_HANDLERS[name]
    events = event_types_of(name)
    scopes = tuple(dict.fromkeys(s for e in events for s in EVENT_SPECS[e].scopes))
    return Action(name=name, summary=summary, requests=requests,
                  scopes=scopes or (TOKY_API_KEY,), params=(), idempotent=idempotent,
                  run=lambda run: handler(run.event, run.ctx), events=events)


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
              "an upsert by phone, or a PUT of the contact the id map knows; an unchanged "
              "payload sends nothing"),
    _contract("delete_contact", "the phone's GHL contact deleted",
              ("GET /contacts/search/duplicate", "DELETE /contacts/{contactId}"),
              "deleting what is gone already is a success"),
    _contract("add_event_tags", "the event's tags added to the contact (made first if new)",
              ("POST /contacts/{contactId}/tags",),
              "adding a tag the contact has changes nothing"),
    _contract("remove_event_tags", "the event's tags removed from the contact",
              ("DELETE /contacts/{contactId}/tags",),
              "removing a tag the contact lacks changes nothing"),
    _contract("log_call", "one note per callid on the caller's contact; a missed inbound "
              "call also gets one open follow-up task (FOLLOWUP_DUE_MINUTES)",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}",
               "POST /contacts/{contactId}/tasks"), _IDMAP),
    _contract("log_voicemail", "one note per voicemail and one open follow-up task",
              ("POST /contacts/{contactId}/notes", "POST /contacts/{contactId}/tasks"),
              _IDMAP),
    _contract("log_sms", "one note per sms id on the customer's contact",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}"),
              _IDMAP),
    _contract("sync_task", "one GHL task per Toky task_id with its fields",
              ("POST /contacts/{contactId}/tasks", "PUT /contacts/{contactId}/tasks/{taskId}"),
              _IDMAP),
    _contract("complete_task", "the task's completed flag, through /completed",
              ("PUT /contacts/{contactId}/tasks/{taskId}/completed",),
              "setting the flag again changes nothing"),
    _contract("delete_task", "the task deleted",
              ("DELETE /contacts/{contactId}/tasks/{taskId}",),
              "deleting what is gone already is a success"),
    _contract("sync_note", "one GHL note per Toky note_id",
              ("POST /contacts/{contactId}/notes", "PUT /contacts/{contactId}/notes/{id}"),
              _IDMAP),
    _contract("delete_note", "the note deleted",
              ("DELETE /contacts/{contactId}/notes/{id}",),
              "deleting what is gone already is a success"),
    _contract("sync_appointment", "one GHL appointment per appointment_id on GHL_CALENDAR_ID",
              ("POST /calendars/events/appointments",
               "PUT /calendars/events/appointments/{eventId}"),
              _IDMAP),
    _contract("cancel_appointment", "the appointment's status becomes cancelled",
              ("PUT /calendars/events/appointments/{eventId}",),
              "setting the status again changes nothing"),
    _contract("mirror_contact_to_toky", "the GHL contact created or updated in Toky (one "
              "contact per phone): only the fields that differ",
              ("Toky GET /contacts/{phone}", "Toky PUT /contacts/{phone}", "Toky POST /contacts"),
              "Toky keeps one contact per phone: a POST for a phone it has becomes a PUT"),
)
CONTRACT_ACTIONS: tuple[Action, ...] = tuple(_keyed(a) for a in _CONTRACT_ACTIONS)
