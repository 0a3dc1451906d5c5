"""Toky contact → GHL contact payload."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from worker.fieldmap import load_field_map, parse_field_map
from worker.mapping import basic_contact_payload, contact_payload, typed_value

PHONE = "+15125550101"


def test_contract_example_maps_every_field() -> None:
    # Given the contract's example contact
    data = {"phone": PHONE, "contact_name": "Ana María López", "email": " Ana@Example.com ",
            "city": "Austin", "country_code": "US", "tags": ["lead", "spanish"]}
    # When mapped with the default field map
    payload = contact_payload(data, load_field_map(None))
    # Then
    assert payload == {
        "name": "Ana María López", "firstName": "Ana", "lastName": "María López",
        "email": "ana@example.com", "phone": PHONE, "city": "Austin", "country": "US",
        "source": "Toky", "tags": ["lead", "spanish"],
    }


def test_one_word_name_has_an_empty_last_name() -> None:
    # Given a single-word name / When mapped
    payload = contact_payload({"phone": PHONE, "contact_name": "  Cher "}, load_field_map(None))
    # Then the last name is cleared, not left stale
    assert (payload["name"], payload["firstName"], payload["lastName"]) == ("Cher", "Cher", "")


def test_unset_fields_are_left_out_and_extras_ignored() -> None:
    # Given only a phone, a null email, a blank city and an unmapped extra field
    data = {"phone": PHONE, "email": None, "city": "  ", "company": "Moreau Design"}
    # When mapped / Then nothing but phone and source is sent (no tags key at all)
    assert contact_payload(data, load_field_map(None)) == {"phone": PHONE, "source": "Toky"}


def test_field_map_adds_standard_custom_fields_and_rule_tags() -> None:
    # Given a map with companyName, typed custom fields and tag rules
    field_map = parse_field_map({
        "standard": {"companyName": "company"},
        "custom_fields": [
            {"ghl_id": "cf-plan", "toky_field": "plan", "type": "text"},
            {"ghl_key": "contact.seats", "toky_field": "seats", "type": "number"},
            {"ghl_id": "cf-langs", "toky_field": "langs", "type": "list"},
            {"ghl_id": "cf-absent", "toky_field": "absent", "type": "text"},
        ],
        "tags": [{"add": ["toky"]}, {"when": {"field": "plan", "equals": 3}, "add": ["gold"]}],
    })
    field_map.key_ids["contact.seats"] = "cf-seats"  # as resolved when a worker starts
    data = {"phone": PHONE, "company": "Moreau Design", "plan": 3, "seats": "12",
            "langs": "es, en", "tags": ["lead", "toky"]}
    # When mapped
    payload = contact_payload(data, field_map)
    # Then
    assert payload["companyName"] == "Moreau Design"
    assert payload["customFields"] == [
        {"id": "cf-plan", "field_value": "3"},
        {"id": "cf-seats", "field_value": 12},
        {"id": "cf-langs", "field_value": ["es", "en"]},
    ]
    assert payload["tags"] == ["lead", "toky", "gold"]


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("text", 42, "42"), ("text", "x", "x"), ("text", True, "true"),
    ("number", "12", 12), ("number", 2.5, 2.5), ("number", "2.50", 2.5), ("number", 7.0, 7),
    ("list", ["a", 1], ["a", "1"]), ("list", "a, b,", ["a", "b"]), ("list", 5, ["5"]),
])
def test_custom_field_typing(kind, value, expected) -> None:
    result = typed_value(kind, value)
    assert result == expected and type(result) is type(expected)


def test_value_that_cannot_take_its_type_names_the_toky_field() -> None:
    # Given a number custom field fed a word
    field_map = parse_field_map({"custom_fields": [
        {"ghl_id": "cf", "toky_field": "seats", "type": "number"}]})
    # When mapped / Then the error names the Toky field
    with pytest.raises(ValidationError) as caught:
        contact_payload({"phone": PHONE, "seats": "many"}, field_map)
    assert "seats" in caught.value.messages


def test_basic_payload_for_a_phone_ghl_may_not_know() -> None:
    assert basic_contact_payload(PHONE, name="Unknown Caller", email=None) == {
        "name": "Unknown Caller", "firstName": "Unknown", "lastName": "Caller",
        "phone": PHONE, "source": "Toky"}
    assert basic_contact_payload(PHONE) == {"phone": PHONE, "source": "Toky"}


def test_a_standard_field_that_cannot_be_read_names_the_toky_field() -> None:
    # Given a contact whose name is an object, and a valid one
    field_map = load_field_map(None)
    # When mapped / Then the error names the Toky field and says what is wrong
    with pytest.raises(ValidationError) as caught:
        contact_payload({"phone": PHONE, "contact_name": {"first": "Ana"}}, field_map)
    assert caught.value.messages == {
        "contact_name": ["must be a string, got {'first': 'Ana'}"]}
    assert contact_payload({"phone": PHONE, "contact_name": 42}, field_map)["name"] == "42"


def test_the_standard_fields_are_loaded_quickly() -> None:
    # Given the schema of the standard fields / Then its quick load serves (no hooks)
    from worker.mapping import contact

    assert contact._QUICK.enabled
