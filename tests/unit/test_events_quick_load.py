"""The quick load of valid events answers exactly what marshmallow's ``Schema.load`` does,
and leaves every refusal (and its reason) to it; the quick depth check refuses nothing the
full walk would accept, and misses nothing it would refuse."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load

from contract import events
from contract.event_types import DATA_SCHEMAS, Envelope
from contract.events import MAX_DEPTH, InvalidEvent, validate_event
from contract.quick_load import QuickLoad
from tests.unit.events_examples import MINIMAL, OPTIONAL, SAMPLES, envelope


def _load_or_none(schema: Schema, data: Any) -> dict[str, Any] | None:
    try:
        return schema.load(data)
    except ValidationError:
        return None


def _examples() -> list[dict[str, Any]]:
    found = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
    for event_type, data in MINIMAL.items():
        found.append(envelope(event_type, data))
        found.append(envelope(event_type, {**data, **OPTIONAL.get(event_type, {}),
                                           "extra": {"kept": [1, 2]}}, source="x"))
        nullable = DATA_SCHEMAS[event_type]().load_fields
        found.append(envelope(event_type, {**data, **{
            name: None for name in OPTIONAL.get(event_type, {}) if nullable[name].allow_none}}))
    return found


@pytest.mark.parametrize("schema_class", [Envelope, *DATA_SCHEMAS.values()],
                         ids=lambda s: s.__name__)
def test_every_schema_of_the_contract_is_loaded_quickly(schema_class):
    # Given a schema of the registry (or the envelope's)
    # When its quick load is made
    # Then it serves (no hook of the schema's needs marshmallow's own load)
    assert QuickLoad(schema_class()).enabled


@pytest.mark.parametrize("obj", _examples(), ids=lambda o: f"{o['id']}-{o['type']}")
def test_a_valid_event_is_loaded_as_marshmallow_loads_it(obj):
    # Given a valid event (samples, required fields only, every optional field, nulls)
    data_schema = DATA_SCHEMAS[obj["type"]]()
    # When its envelope and data are loaded quickly, and by the schemas
    # Then the answers are the same, and so is the event
    assert QuickLoad(Envelope())(obj) == Envelope().load(obj)
    assert QuickLoad(data_schema)(obj["data"]) == data_schema.load(obj["data"])
    assert validate_event(obj) == events._loaded_event(obj)


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**10), st.floats(allow_nan=True),
    st.sampled_from(["", " ", "+14155550134", "(415) 555-0134", "12", "US", "zz", "inbound",
                     "completed", "2026-11-02T10:00:00Z", "2026-11-02 10:00:00", "soon",
                     "a@b.co", "not-an-email", "true", "no", "c-1", "x" * 300, "3.5"]),
    st.lists(st.sampled_from(["vip", "", 3]), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(event_type=st.sampled_from(sorted(DATA_SCHEMAS)), data=st.data())
def test_any_data_is_loaded_quickly_as_marshmallow_does_or_left_to_it(event_type, data):
    # Given data of an event type with each field (or an unknown one) left out or given
    # any value, well-formed or not
    schema = DATA_SCHEMAS[event_type]()
    names = [*schema.load_fields, "country_code", "unknown_field"]
    given_data = data.draw(st.dictionaries(st.sampled_from(names), _VALUES))
    # When it is loaded quickly
    quick = QuickLoad(schema)(given_data)
    # Then it answers what load answers, or None exactly when load refuses it
    assert quick == _load_or_none(schema, given_data)


@pytest.mark.parametrize("obj", [
    envelope("call.ended", {"callid": "c", "direction": "up", "state": "?"},
             occurred_at="2026-11-02T10:00:00"),
    envelope("contact.created", {"phone": "(415) 555-01", "country_code": "US"}),
    envelope("nope.created", {"phone": "+14155550134"}),
    {**envelope("contact.deleted", {"phone": "+14155550134"}), "data": "x"},
    {"type": "contact.deleted", "data": {"phone": "+14155550134"}},
])
def test_a_refused_event_gets_marshmallows_reason(obj):
    # Given an invalid event
    # When it is validated
    with pytest.raises(InvalidEvent) as caught:
        validate_event(obj)
    # Then the quick load declined it and the reason is the schemas' own
    assert events._quick_event(obj) is None
    with pytest.raises(InvalidEvent) as again:
        events._loaded_event(obj)
    assert caught.value.reason == again.value.reason


class _Hooked(Schema):
    class Meta:
        unknown = INCLUDE

    name = fields.String()

    @post_load
    def _upper(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v.upper() for k, v in data.items()}


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String()


class _Renamed(Schema):
    name = fields.String(data_key="Name")


@pytest.mark.parametrize("schema_class", [_Hooked, _Strict, _Renamed])
def test_a_schema_whose_load_does_more_is_left_to_marshmallow(schema_class):
    # Given a schema with a hook, one refusing unknown fields, one with a data key
    # When its quick load is asked
    # Then it never answers: load does
    assert QuickLoad(schema_class()).enabled is False
    assert QuickLoad(schema_class())({"name": "a", "Name": "b"}) is None


def _nested(levels: int) -> dict[str, Any]:
    """An event whose deepest container is at nesting ``levels`` (the event is 1)."""
    event = envelope("contact.deleted", {"phone": "+14155550134"})
    inner: dict[str, Any] = event
    for _ in range(levels - 1):
        inner["x"] = {}
        inner = inner["x"]
    return event


@pytest.mark.parametrize(("obj", "unsafe"), [
    (_nested(MAX_DEPTH), False),
    (_nested(MAX_DEPTH + 1), True),
    ({**envelope("call.ended", MINIMAL["call.ended"]), "n": [1.5, math.inf]}, True),
    ({**envelope("call.ended", MINIMAL["call.ended"]), "n": [1.5, -2, None, True]}, False),
    ({**envelope("call.ended", MINIMAL["call.ended"]), "n": (math.nan,)}, True),
])
def test_the_quick_depth_and_number_check_agrees_with_the_full_walk(obj, unsafe):
    # Given an event nested to the limit or past it, or holding an infinite number
    # When the quick check and the full walk look at it
    # Then the quick one calls safe only what the full walk finds safe
    full = events._unsafe_value(obj)
    assert (full is not None) is unsafe
    assert events._plain_json(obj, 1) is not unsafe
    if unsafe:
        with pytest.raises(InvalidEvent, match="nested deeper|out of range"):
            validate_event(obj)
