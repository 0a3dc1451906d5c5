"""object_key, event_label and event_id_for: the names the worker and operators use."""

from __future__ import annotations

import pytest

from contract.events import EVENT_TYPES, event_id_for, event_label, object_key, validate_event
from tests.unit.events_examples import MINIMAL, envelope

EXPECTED_KEY = {
    "contact": "contact:+14155550134",
    "call": "call:c-1",
    "voicemail": "voicemail:vm-1",
    "task": "task:tk-1",
    "note": "note:nt-1",
    "appointment": "appointment:ap-1",
    "ghl": "ghl.contact:ghl-1",
}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_object_key_of_every_type(event_type):
    # Given an accepted event of that type
    event = validate_event(envelope(event_type, MINIMAL[event_type]))
    # When its object key is taken
    key = object_key(event)
    # Then it names the Toky object the event is about
    family = event_type.split(".")[0]
    expected = EXPECTED_KEY.get(family) or f"sms:{MINIMAL[event_type]['id']}"
    assert key == expected


def test_contact_key_uses_the_normalised_phone():
    # Given two events for one contact, its phone written two ways
    a = validate_event(envelope("contact.updated", {"phone": "(415) 555-0134",
                                                    "country_code": "US"}))
    b = validate_event(envelope("contact.deleted", {"phone": "+1 415 555 0134"}))
    # When their keys are taken
    # Then they are the same object
    assert object_key(a) == object_key(b) == "contact:+14155550134"


def test_label_cuts_long_ids_and_keeps_the_event_id():
    # Given a call event with a long callid
    event = validate_event(envelope(
        "call.ended", {"callid": "8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11", "direction": "inbound",
                       "state": "completed"}, id="s-004"))
    # When it is labelled
    # Then the label is short and names type, object and event
    assert event_label(event) == "call.ended call:8c1e5d02… evt=s-004"


def test_label_hides_a_contacts_phone_and_the_data():
    # Given a contact event with personal data
    event = validate_event(envelope("contact.created", {
        "phone": "+14155550134", "contact_name": "Lena Park", "email": "lena@example.com"}))
    # When it is labelled
    label = event_label(event)
    # Then only the last four digits of the phone show, and no other data
    assert label == "contact.created contact:…0134 evt=evt-1"
    assert "Lena" not in label and "4155550" not in label


def test_label_hides_the_phone_in_a_contact_event_id():
    # Given a contact event whose id carries the phone (the poller's contact-{phone}-{version})
    event_id = event_id_for("contact", "+14155550134", "1733097600")
    event = validate_event(envelope("contact.updated", {"phone": "+14155550134"}, id=event_id))
    # When it is labelled (Flower shows the label)
    label = event_label(event)
    # Then the event id shows the last four digits only, and stays short
    assert label == "contact.updated contact:…0134 evt=contact-…0134-1733097600"
    assert "4155550" not in label


def test_short_ids_are_shown_whole():
    # Given a task event with a short id
    event = validate_event(envelope("task.deleted", MINIMAL["task.deleted"], id="e9"))
    # When it is labelled
    # Then the id is whole
    assert event_label(event) == "task.deleted task:tk-1 evt=e9"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("call", "8c1e5d02"), {}, "call-8c1e5d02"),
        (("voicemail", "vm-5521"), {}, "voicemail-vm-5521"),
        (("sms", 9001), {}, "sms-9001"),
        (("contact", "+14155550134", 3), {}, "contact-+14155550134-3"),
        (("contact", "(415) 555-0134", "v7"), {"region": "US"}, "contact-+14155550134-v7"),
    ],
)
def test_event_ids_derive_from_tokys_ids(args, kwargs, expected):
    # Given Toky's id of an object
    # When the producer derives the event id
    # Then it is the contract's spelling
    assert event_id_for(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fax", "1"), "unknown event id kind 'fax'"),
        (("call",), "needs 1 non-empty part"),
        (("call", ""), "needs 1 non-empty part"),
        (("contact", "+14155550134"), "needs 2 non-empty part"),
        (("contact", "12", 1), "has no country"),
    ],
)
def test_event_id_for_refuses_bad_parts(args, message):
    # Given a wrong kind or wrong parts
    # When an event id is derived
    with pytest.raises(ValueError) as caught:
        event_id_for(*args)
    # Then the error says what is wrong
    assert message in str(caught.value)
