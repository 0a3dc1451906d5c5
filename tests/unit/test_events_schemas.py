"""Every event type's schema, checked against the contract's table (section 1)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from contract.events import EVENT_TYPES, InvalidEvent, validate_event
from tests.unit.events_examples import MINIMAL, OPTIONAL, PHONE, SAMPLES, envelope

SHARED_SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "contract" / "samples.ndjson"

REQUIRED = [(t, name) for t, data in MINIMAL.items() for name in data]


def reason_of(obj) -> str:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(obj)
    return caught.value.reason


def test_the_schemas_cover_exactly_the_contract_table():
    # Given the contract's table of event types
    # When the schemas' types are listed
    # Then they are the same set
    assert set(EVENT_TYPES) == set(MINIMAL)


def test_the_copied_samples_match_the_contract():
    if not SHARED_SAMPLES.exists():  # CI always has ../shared beside the clone
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_SAMPLES} is missing: CI runs beside ../shared")
        pytest.skip("no ../shared beside the repo (skipped locally only; required in CI)")
    # Given the contract's samples and the copy the tests use
    # When they are compared
    # Then they are the same lines
    assert SAMPLES.read_text().split() == SHARED_SAMPLES.read_text().split()


@pytest.mark.parametrize("line", SAMPLES.read_text().splitlines(), ids=lambda s: s[8:13])
def test_every_contract_sample_is_valid(line):
    # Given a sample line of the contract
    obj = json.loads(line)
    # When it is validated
    event = validate_event(obj)
    # Then it is accepted with its id, type and time unchanged
    assert (event["id"], event["type"], event["occurred_at"]) == (
        obj["id"], obj["type"], obj["occurred_at"])


@pytest.mark.parametrize("event_type", sorted(MINIMAL))
def test_required_fields_alone_are_valid(event_type):
    # Given an event with only its required data fields
    # When it is validated
    event = validate_event(envelope(event_type, MINIMAL[event_type]))
    # Then it is accepted
    assert event["type"] == event_type


@pytest.mark.parametrize("event_type", sorted(OPTIONAL))
def test_optional_fields_are_accepted_and_kept(event_type):
    # Given an event with every optional field of its type
    data = {**MINIMAL[event_type], **OPTIONAL[event_type]}
    # When it is validated
    event = validate_event(envelope(event_type, data))
    # Then every field is kept
    assert set(event["data"]) == set(data)


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_missing_required_field_is_named(event_type, field):
    # Given an event without one of its required fields
    data = {k: v for k, v in MINIMAL[event_type].items() if k != field}
    # When it is validated
    reason = reason_of(envelope(event_type, data))
    # Then the reason names that field
    assert reason == f"data.{field}: required field is missing"


@pytest.mark.parametrize("field", ["id", "type", "occurred_at", "data"])
def test_missing_envelope_field_is_named(field):
    # Given an event without one envelope field
    obj = envelope("contact.deleted", {"phone": PHONE})
    del obj[field]
    # When it is validated
    reason = reason_of(obj)
    # Then the reason names it
    assert reason == f"{field}: required field is missing"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (envelope("call.foo", {}), "type: unknown event type 'call.foo'"),
        (envelope("contact.deleted", {"phone": PHONE}, occurred_at="2026-11-02T10:00:00"),
         "occurred_at: missing zone offset"),
        (envelope("contact.deleted", {"phone": PHONE}, occurred_at="soon"),
         "occurred_at: not an ISO 8601 timestamp 'soon'"),
        (envelope("contact.deleted", {"phone": PHONE}, id=""), "id: must not be empty"),
        (envelope("contact.deleted", {"phone": PHONE}, id=7), "id: must be a string"),
        (envelope("contact.deleted", {"phone": PHONE}, id="x" * 300), "id: must be at most 256"),
        (envelope("contact.deleted", ["+14155550134"]), "data: must be an object"),
        ([1, 2], "event: must be a JSON object, got list"),
    ],
)
def test_malformed_envelope_is_named(obj, expected):
    # Given an event whose envelope is wrong
    # When it is validated
    reason = reason_of(obj)
    # Then the reason names the field and what is wrong
    assert reason.startswith(expected)


@pytest.mark.parametrize(
    ("event_type", "field", "value", "expected"),
    [
        ("contact.created", "phone", "(415) 555-01",
         "data.phone: not a valid phone number '(415) 555-01' for region US"),
        ("contact.created", "email", "not-an-email", "data.email: not a valid email address"),
        ("contact.created", "country_code", "ZZ", "data.country_code: unknown country code 'ZZ'"),
        ("contact.created", "tags", "lead", "data.tags: must be a list of strings"),
        ("contact.tags_added", "tags", ["ok", ""], "data.tags[1]: must not be empty"),
        ("contact.tags_added", "tags", ["ok", 3], "data.tags[1]: must be a string"),
        ("call.ended", "direction", "sideways",
         "data.direction: must be one of inbound, outbound, got 'sideways'"),
        ("call.ended", "state", "busy",
         "data.state: must be one of completed, missed, unsuccessful, got 'busy'"),
        ("call.ended", "duration", -1, "data.duration: must not be negative"),
        ("call.ended", "duration", "three", "data.duration: must be a number, got 'three'"),
        ("call.ended", "duration", True, "data.duration: must be a number"),
        ("call.ended", "from_number", "12", "data.from_number: phone number '12' has no country"),
        ("call.ended", "date", "yesterday", "data.date: not an ISO 8601 timestamp 'yesterday'"),
        ("call.ended", "callid", "  ", "data.callid: must not be empty"),
        ("voicemail.created", "from_number", None, "data.from_number: must not be null"),
        ("sms.received", "text", 42, "data.text: must be a string"),
        ("task.created", "due_date", "next week", "data.due_date: not an ISO 8601 timestamp"),
        ("task.created", "completed", "yes", "data.completed: must be true or false, got 'yes'"),
        ("note.created", "body", "", "data.body: must not be empty"),
        ("appointment.created", "start", "2026-11-05", None),
        ("appointment.created", "end", "tomorrow", "data.end: not an ISO 8601 timestamp"),
    ],
)
def test_malformed_data_field_is_named(event_type, field, value, expected):
    # Given a valid event with one field made wrong
    data = {**MINIMAL[event_type], field: value}
    if field == "phone":
        data["country_code"] = "US"
    obj = envelope(event_type, data)
    if expected is None:  # a control: this value is fine
        assert validate_event(obj)["data"][field] == value
        return
    # When it is validated
    reason = reason_of(obj)
    # Then the reason names the field and what is wrong
    assert reason.startswith(expected)


def test_every_problem_is_reported_at_once():
    # Given an event with an unknown-zone time and two bad data fields
    obj = envelope("call.ended", {"callid": "c", "direction": "up", "state": "?"},
                   occurred_at="2026-11-02T10:00:00")
    # When it is validated
    reason = reason_of(obj)
    # Then all three are named, envelope first
    assert [part.split(":")[0] for part in reason.split("; ")] == [
        "occurred_at", "data.direction", "data.state"]


def test_contact_phone_uses_its_country_code_and_is_canonical():
    # Given a contact with a national number and its country
    obj = envelope("contact.created", {"phone": "(415) 555-0134", "country_code": "us"})
    # When it is validated
    data = validate_event(obj)["data"]
    # Then the phone is E.164 and the country code upper-case
    assert (data["phone"], data["country_code"]) == ("+14155550134", "US")


def test_call_numbers_are_normalised_too():
    # Given a call with numbers written with spaces
    data = {**MINIMAL["call.ended"], "from_number": "+1 (415) 555-0177", "to_number": ""}
    # When it is validated
    loaded = validate_event(envelope("call.ended", data))["data"]
    # Then from_number is E.164 and the empty to_number means "none"
    assert (loaded["from_number"], loaded["to_number"]) == ("+14155550177", None)


def test_duration_as_numeric_string_loads_as_a_number():
    # Given durations as strings, as form-encoded webhooks send them
    for raw, expected in [("184", 184), ("2.5", 2.5), (184.0, 184)]:
        data = {**MINIMAL["call.ended"], "duration": raw}
        # When validated
        loaded = validate_event(envelope("call.ended", data))["data"]
        # Then the duration is a number
        assert loaded["duration"] == expected and not isinstance(loaded["duration"], str)


def test_task_completed_defaults_to_true():
    # Given a task.completed event without "completed"
    # When it is validated
    data = validate_event(envelope("task.completed", MINIMAL["task.completed"]))["data"]
    # Then completed is true
    assert data["completed"] is True


def test_unknown_extra_fields_are_kept_everywhere():
    # Given an event with extra fields in data and in the envelope
    obj = envelope("contact.updated", {"phone": PHONE, "company": "Moreau", "score": 7},
                   source="import")
    # When it is validated
    event = validate_event(obj)
    # Then the extras are still there, unchanged
    assert event["data"]["company"] == "Moreau" and event["data"]["score"] == 7
    assert event["source"] == "import"


def test_optional_fields_may_be_null():
    # Given Toky's nulls for optional fields
    data = {**MINIMAL["call.ended"], "from_number": None, "duration": None, "agent": None}
    # When validated
    loaded = validate_event(envelope("call.ended", data))["data"]
    # Then the nulls are accepted
    assert loaded["from_number"] is None and loaded["duration"] is None


def test_validation_does_not_change_its_input_and_result_is_json():
    # Given a sample event
    obj = json.loads(SAMPLES.read_text().splitlines()[0])
    before = copy.deepcopy(obj)
    # When it is validated
    event = validate_event(obj)
    # Then the input is untouched and the result survives a JSON round trip
    assert obj == before
    assert json.loads(json.dumps(event)) == event
    assert event["data"]["phone"] == "+14155550134"


def all_examples():
    yield from (json.loads(line) for line in SAMPLES.read_text().splitlines())
    for event_type, data in MINIMAL.items():
        yield envelope(event_type, {**data, **OPTIONAL.get(event_type, {})})


@pytest.mark.parametrize("obj", list(all_examples()), ids=lambda o: f"{o['id']}-{o['type']}")
def test_revalidating_an_accepted_event_changes_nothing(obj):
    # Given an accepted event, sent through JSON as the broker does
    accepted = json.loads(json.dumps(validate_event(obj)))
    # When the worker validates it again with the same schemas
    again = validate_event(accepted)
    # Then it is the same event
    assert again == accepted
