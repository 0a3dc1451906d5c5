"""The registry of event types: one row per type, read by producers, the pipeline and the
automation catalogue alike."""

from __future__ import annotations

import pytest

from contract.event_types import EVENT_SPECS, EVENT_TYPES, EventKind, event_types_of
from contract.events import customer_phone, validate_event
from tests.unit.events_examples import MINIMAL, PHONE, envelope
from worker.pipeline import missing_scopes
from worker.rules import ACTIONS
from worker.sync import ACTION_HANDLERS, HANDLERS

OUR_LINE = "+14155550100"
ALL_GRANTED = frozenset({"contacts.write", "calendars/events.write"})


def test_the_registry_lists_every_type_the_contract_table_has():
    assert set(EVENT_TYPES) == set(MINIMAL)
    assert all(spec.event_type == event_type for event_type, spec in EVENT_SPECS.items())


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_type_is_applied_by_the_handler_of_its_action(event_type):
    # Given the registry's action for the type
    action = EVENT_SPECS[event_type].action
    # Then the worker's handler for the type is that action's, and the catalogue's
    # built-in action names the type among its events
    assert HANDLERS[event_type] is ACTION_HANDLERS[action]
    assert event_type in ACTIONS[action].events
    assert ACTIONS[action].events == event_types_of(action)


def test_the_kinds_latest_wins_reads():
    kinds = {t: s.kind for t, s in EVENT_SPECS.items() if s.kind is not EventKind.WRITE}
    assert kinds == {
        "contact.created": EventKind.CONTACT_STATE, "contact.updated": EventKind.CONTACT_STATE,
        "contact.tags_added": EventKind.TAGS, "contact.tags_removed": EventKind.TAGS,
        "contact.deleted": EventKind.DELETE, "task.deleted": EventKind.DELETE,
        "note.deleted": EventKind.DELETE,
    }


@pytest.mark.parametrize(("event_type", "data", "customer"), [
    ("call.ended", {"callid": "c", "direction": "inbound", "state": "completed",
                    "from_number": PHONE, "to_number": OUR_LINE}, PHONE),
    ("call.ended", {"callid": "c", "direction": "outbound", "state": "completed",
                    "from_number": OUR_LINE, "to_number": PHONE}, PHONE),
    ("call.ended", {"callid": "c", "direction": "inbound", "state": "missed"}, None),
    ("voicemail.created", {"id": "v", "from_number": PHONE, "to_number": OUR_LINE}, PHONE),
    ("sms.received", {"id": "s", "from_number": PHONE, "to_number": OUR_LINE, "text": ""},
     PHONE),
    ("sms.sent", {"id": "s", "from_number": OUR_LINE, "to_number": PHONE, "text": ""}, PHONE),
    ("task.created", {"task_id": "t", "phone": PHONE}, PHONE),
    ("ghl.contact.updated", {"id": "g"}, None),
])
def test_the_customer_is_the_other_party_never_our_line(event_type, data, customer):
    event = validate_event(envelope(event_type, data))
    assert customer_phone(event) == customer


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_scopes_refused_before_sending_are_the_registrys(event_type):
    # Given no scope granted
    missing = missing_scopes(event_type, frozenset())
    # Then what is missing is what the type's writes need; nothing once all are granted
    assert missing == list(EVENT_SPECS[event_type].scopes)
    assert missing_scopes(event_type, ALL_GRANTED) == []
    if event_type.startswith("ghl."):  # the mirror writes to Toky, never to GHL
        assert missing == []
    elif event_type.startswith("appointment."):
        assert missing == ["contacts.write", "calendars/events.write"]
    else:
        assert missing == ["contacts.write"]
