"""Toky rows → events: the call state rule, numbers, times, voicemails and SMS."""

from __future__ import annotations

import pytest

from contract.events import InvalidEvent, validate_event
from producers.records.calls import call_state, cdr_event
from producers.records.messages import sms_event, voicemail_event

CDR = {
    "id": "7", "callid": "c-1", "direction": "inbound", "from": "+15125550101",
    "to_number": "+15125550000", "received_on_number": "+15125550000",
    "init_dt": "2017-07-05 21:46:17", "start_time": "2017-07-05 21:46:22",
    "end_time": "2017-07-05 21:46:44", "duration": "22", "agent_id": "ana@demo.example",
    "disposition_code": "200", "web_call": "no",
}


@pytest.mark.parametrize(("direction", "code", "duration", "state"), [
    ("inbound", "200", "22", "completed"),
    ("inbound", "200", "0", "missed"),       # connected but no talk time
    ("inbound", "487", "0", "missed"),
    ("inbound", "486", "5", "missed"),       # a duration without a 200 is not an answer
    ("inbound", "", "", "missed"),
    ("outbound", "200", "312", "completed"),
    ("outbound", "486", "0", "unsuccessful"),
    ("outbound", "480", "", "unsuccessful"),
    ("sideways", "200", "10", None),
])
def test_call_state_from_direction_disposition_and_duration(direction, code, duration, state):
    # Given a CDR's direction, disposition code and duration (strings, as Toky sends them)
    # When the state is derived
    # Then it follows the documented rule
    assert call_state(direction, code, duration) == state


def test_answered_inbound_cdr_becomes_a_complete_call_event():
    # Given an answered inbound CDR and its recording URL
    # When it is mapped
    event = validate_event(cdr_event(CDR, "https://rec.example/c-1.mp3"))
    # Then id, times, numbers, duration and recording are as the contract names them
    assert (event["id"], event["type"]) == ("call-c-1", "call.ended")
    assert event["occurred_at"] == "2017-07-05T21:46:44Z"
    data = event["data"]
    assert (data["callid"], data["direction"], data["state"]) == ("c-1", "inbound", "completed")
    assert (data["from_number"], data["to_number"]) == ("+15125550101", "+15125550000")
    assert data["duration"] == 22 and isinstance(data["duration"], int)
    assert data["date"] == "2017-07-05T21:46:22Z"
    assert (data["agent"], data["record_url"]) == ("ana@demo.example", "https://rec.example/c-1.mp3")
    assert "from" not in data


def test_unanswered_outbound_cdr_uses_init_dt_and_the_customer_as_to_number():
    # Given a busy outbound call (no start_time, no end_time)
    row = {**CDR, "direction": "outbound", "from": "+15125550000", "to_number": "+15125550102",
           "received_on_number": "", "start_time": "", "end_time": "", "duration": "0",
           "disposition_code": "486"}
    # When it is mapped
    event = validate_event(cdr_event(row))
    # Then it is unsuccessful, dated at init_dt, from the Toky line to the customer
    data = event["data"]
    assert data["state"] == "unsuccessful"
    assert event["occurred_at"] == data["date"] == "2017-07-05T21:46:17Z"
    assert (data["from_number"], data["to_number"]) == ("+15125550000", "+15125550102")
    assert "record_url" not in data


def test_inbound_cdr_without_to_number_falls_back_to_received_on_number():
    # Given an inbound CDR whose to_number is empty
    row = {**CDR, "to_number": "", "received_on_number": "+15125550999"}
    # When it is mapped
    data = validate_event(cdr_event(row))["data"]
    # Then the number called is the line that received it
    assert data["to_number"] == "+15125550999"


def test_cdr_with_an_unreadable_caller_number_is_refused_naming_the_field():
    # Given a CDR from a number too short to be one
    row = {**CDR, "from": "+1 (512) 55"}
    # When it is validated
    # Then the reason names from_number
    with pytest.raises(InvalidEvent, match=r"data\.from_number"):
        validate_event(cdr_event(row))


def test_voicemail_row_becomes_voicemail_created():
    # Given a voicemail row as the list serves it
    row = {"id": "12", "from_number": "+15125550199", "to_number": "+15125550000",
           "date": "2026-11-19 10:00:00", "duration": "27", "record_url": "https://r/v.mp3",
           "agent": ""}
    # When it is mapped
    event = validate_event(voicemail_event(row))
    # Then its id, time and duration follow the contract
    assert (event["id"], event["type"]) == ("voicemail-12", "voicemail.created")
    assert event["occurred_at"] == event["data"]["date"] == "2026-11-19T10:00:00Z"
    assert event["data"]["duration"] == 27


@pytest.mark.parametrize(("direction", "event_type"), [
    ("inbound", "sms.received"), ("outbound", "sms.sent"), ("", "sms.received"),
    ("OUTBOUND", "sms.sent"),
])
def test_sms_type_follows_its_direction(direction, event_type):
    # Given an SMS row with a direction
    row = {"id": "5", "direction": direction, "from_number": "+15125550101",
           "to_number": "+15125550000", "text": "hi", "date": "2026-11-19 10:00:00"}
    # When it is mapped
    event = validate_event(sms_event(row))
    # Then the type says which way it went; the id is sms-{id}
    assert (event["id"], event["type"]) == ("sms-5", event_type)


def test_sms_with_an_unknown_direction_is_refused_naming_the_field():
    # Given an SMS whose direction is neither way
    row = {"id": "5", "direction": "sideways", "from_number": "+15125550101",
           "to_number": "+15125550000", "text": "hi"}
    # When it is mapped
    # Then the error names data.direction
    with pytest.raises(InvalidEvent, match=r"data\.direction"):
        sms_event(row)
