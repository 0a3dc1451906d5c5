"""The field map: the built-in default, files in YAML and JSON, and errors naming the entry."""

from __future__ import annotations

import json

import pytest

from toky_ghl.errors import ConfigError
from worker.fieldmap import DEFAULT_STANDARD, load_field_map, parse_field_map


def test_default_map_is_the_contracts_standard_fields() -> None:
    # Given no FIELD_MAP
    # When the map is loaded
    field_map = load_field_map(None)
    # Then it maps exactly the contract's fields, with no custom fields, rules or agents
    assert dict(field_map.standard) == {
        "name": "contact_name", "email": "email", "city": "city", "country": "country_code"}
    assert field_map.custom_fields == ()
    assert field_map.tags_for({"anything": 1}) == []
    assert field_map.user_for("sam@company.test") is None


def test_yaml_file_adds_and_overrides(tmp_path) -> None:
    # Given a YAML map that adds companyName, stops syncing email and maps an agent
    path = tmp_path / "map.yaml"
    path.write_text(
        "standard:\n  companyName: company\n  email: null\n"
        "custom_fields:\n  - {ghl_key: contact.score, toky_field: score, type: number}\n"
        "tags:\n  - add: [toky]\n  - when: {field: country_code, equals: MX}\n    add: [mx]\n"
        "agents:\n  Sam@Company.TEST: user-1\n"
    )
    # When it is loaded
    field_map = load_field_map(str(path))
    # Then defaults are kept, the additions and overrides applied
    assert field_map.standard["companyName"] == "company"
    assert "email" not in field_map.standard
    assert field_map.standard["name"] == DEFAULT_STANDARD["name"]
    assert field_map.custom_fields[0].ghl_key == "contact.score"
    assert field_map.tags_for({"country_code": "MX"}) == ["toky", "mx"]
    assert field_map.tags_for({"country_code": "US"}) == ["toky"]
    # and agent emails compare lower-cased
    assert field_map.user_for(" sam@company.test ") == "user-1"


def test_agents_are_matched_in_tokys_id_form_and_as_emails() -> None:
    # Given a map with one key as an email and one in Toky's id form (@ written as __)
    field_map = parse_field_map({"agents": {"sam@company.test": "user-1",
                                            "carlos__acme.com": "user-2"}})
    # When / Then either spelling of either agent finds its GHL user
    assert field_map.user_for("sam__company.test") == "user-1"
    assert field_map.user_for("SAM@company.test") == "user-1"
    assert field_map.user_for("carlos@acme.com") == "user-2"
    assert field_map.user_for("Carlos__Acme.com") == "user-2"
    assert field_map.user_for("nobody__acme.com") is None


def test_json_file_is_read_as_json(tmp_path) -> None:
    # Given the same structure in a .json file
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"custom_fields": [
        {"ghl_id": "cf-1", "toky_field": "plan", "type": "text"}]}))
    # When loaded
    field_map = load_field_map(path)
    # Then
    assert field_map.custom_fields[0].ghl_id == "cf-1"


@pytest.mark.parametrize(("raw", "message"), [
    ({"custom_fields": [{"ghl_id": "a", "toky_field": "x"}, {"ghl_id": "b", "toky_field": "y"},
                        {"ghl_id": "c", "toky_field": "z", "type": "date"}]},
     "field map custom_fields[2].type: must be one of text, number, list, got 'date'"),
    ({"custom_fields": [{"toky_field": "x"}]},
     "field map custom_fields[0]: needs exactly one of ghl_id or ghl_key"),
    ({"custom_fields": [{"ghl_id": "a", "ghl_key": "k", "toky_field": "x"}]},
     "field map custom_fields[0]: needs exactly one of ghl_id or ghl_key"),
    ({"custom_fields": [{"ghl_id": "a"}]},
     "field map custom_fields[0].toky_field: must be a non-empty string, got None"),
    ({"custom_fields": [{"ghl_id": "a", "toky_field": "x"}, {"ghl_id": "a", "toky_field": "y"}]},
     "field map custom_fields[1].ghl_id: 'a' is mapped twice"),
    ({"standard": {"phone": "other_phone"}},
     "field map standard.phone: not a GHL contact field this map may set"),
    ({"standard": {"favouriteColour": "colour"}},
     "field map standard.favouriteColour: not a GHL contact field"),
    ({"tags": [{"when": {"field": "x"}, "add": ["t"]}]},
     "field map tags[0].when: needs exactly the keys field and equals"),
    ({"tags": [{"add": []}]}, "field map tags[0].add: must be a non-empty list of tags"),
    ({"tags": [{"add": ["ok", ""]}]}, "field map tags[0].add[1]: must be a non-empty string"),
    ({"agents": {"sam": "user-1"}}, "field map agents.sam: the key must be a Toky agent's email"),
    ({"agents": {"sam@company.test": "u-1", "sam__company.test": "u-2"}},
     "field map agents.sam__company.test: agent sam@company.test is mapped twice"),
    ({"agents": {"sam@company.test": ""}},
     "field map agents.sam@company.test: must be a non-empty string"),
    ({"colours": {}}, "field map: unknown key 'colours'"),
    (["not", "a", "mapping"], "field map: must be a mapping, got list"),
])
def test_bad_entries_are_named(raw, message) -> None:
    # Given a map with one bad entry
    # When it is validated
    with pytest.raises(ConfigError) as caught:
        parse_field_map(raw)
    # Then the message names the entry
    assert str(caught.value).startswith(message)


def test_unreadable_and_unparseable_files_name_the_file(tmp_path) -> None:
    # Given a missing file and a broken YAML file
    missing = tmp_path / "missing.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text("standard: [unclosed\n")
    # When / Then each names the file
    with pytest.raises(ConfigError, match="missing.yaml: cannot read"):
        load_field_map(missing)
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_field_map(broken)


def test_empty_file_means_the_defaults(tmp_path) -> None:
    # Given an empty file
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    # When loaded / Then the defaults apply
    assert dict(load_field_map(path).standard) == dict(DEFAULT_STANDARD)
