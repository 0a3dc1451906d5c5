"""The mirror's pure pieces: the shared fingerprint, GHL contact → event, GHL → Toky fields,
and the sync memory."""

from __future__ import annotations

import fakeredis
import pytest

from contract.events import object_key, validate_event
from producers.mirror import TO_GHL, TO_TOKY, SyncMemory, fingerprint, from_ghl, from_toky
from producers.mirror.mapping import ghl_contact_event, position, seen_id
from worker.mapping.toky_contact import changed_fields, toky_contact_fields

TOKY_ANA = {"contact_name": "Ana  María López", "phone": "(512) 555-0101",
            "email": "Ana@Example.com", "city": "Austin", "country_code": "us"}
GHL_ANA = {"id": "g-1", "firstName": "Ana", "lastName": "María López",
           "email": "ana@example.com", "phone": "+1 512-555-0101", "city": " Austin ",
           "country": "US", "tags": ["toky"], "source": "Toky",
           "dateUpdated": "2027-01-15T08:00:00.000Z"}


def test_one_person_has_one_fingerprint_on_both_sides():
    # Given Ana as Toky and as GHL spell her (case, spaces, phone format, split name)
    # When both are fingerprinted
    # Then the fingerprints are the same, and the shared fields read the same
    assert from_toky(TOKY_ANA) == from_ghl(GHL_ANA) == {
        "name": "Ana María López", "email": "ana@example.com", "phone": "+15125550101",
        "city": "Austin", "country": "US"}
    assert fingerprint(from_toky(TOKY_ANA)) == fingerprint(from_ghl(GHL_ANA))


@pytest.mark.parametrize("field,value", [("name", "Ana López"), ("email", "ana@other.com"),
                                         ("phone", "+15125550102"), ("city", "Dallas"),
                                         ("country", "MX")])
def test_a_change_of_any_shared_field_changes_the_fingerprint(field, value):
    # Given Ana in GHL with one shared field changed
    changed = {**GHL_ANA, "name": GHL_ANA["firstName"] + " " + GHL_ANA["lastName"],
               field: value}
    # When fingerprinted
    # Then the fingerprint differs from Toky's Ana
    assert fingerprint(from_ghl(changed)) != fingerprint(from_toky(TOKY_ANA))


def test_fields_not_shared_do_not_count():
    # Given Ana in GHL with other tags, source, dates and an unknown field
    other = {**GHL_ANA, "tags": ["vip"], "source": "GHL", "dateUpdated": "2027-02-01T00:00:00Z",
             "companyName": "Acme"}
    # When fingerprinted
    # Then nothing changed; and blanks equal absent fields
    assert fingerprint(from_ghl(other)) == fingerprint(from_ghl(GHL_ANA))
    assert fingerprint(from_ghl({**GHL_ANA, "city": ""})) == \
        fingerprint(from_ghl({k: v for k, v in GHL_ANA.items() if k != "city"}))


def test_a_ghl_contact_becomes_an_event_keyed_by_its_version():
    # Given a GHL contact edited after it was added
    contact = {**GHL_ANA, "dateAdded": "2027-01-14T08:00:00.000Z", "customFields": [{"x": 1}],
               "searchAfter": [1800000000000, "g-1"]}
    # When it becomes an event
    raw = ghl_contact_event(contact)
    event = validate_event(raw)
    # Then its id is the contact's id and version, it is an update at dateUpdated,
    # it carries only the mirror's fields, the phone E.164
    assert event["id"] == "ghl-contact-g-1-1800000000000"
    assert (event["type"], event["occurred_at"]) == ("ghl.contact.updated",
                                                     "2027-01-15T08:00:00.000Z")
    assert event["data"] == {
        "id": "g-1", "firstName": "Ana", "lastName": "María López", "email": "ana@example.com",
        "phone": "+15125550101", "city": " Austin ", "country": "US",
        "dateAdded": "2027-01-14T08:00:00.000Z", "dateUpdated": "2027-01-15T08:00:00.000Z"}
    assert object_key(event) == "ghl.contact:g-1"
    assert position(contact) == (1800000000000, "g-1")
    assert seen_id(contact) == "g-1@1800000000000"


def test_a_never_edited_contact_is_created_and_phones_are_read_in_its_country():
    # Given a contact just added with a national number and its country
    contact = {"id": "g-2", "name": "Hugo", "phone": "020 7946 0188", "country": "GB",
               "dateAdded": "2027-01-15T08:00:00.000Z",
               "dateUpdated": "2027-01-15T08:00:00.000Z"}
    # When it becomes an event
    event = validate_event(ghl_contact_event(contact))
    # Then it is a creation, phone in E.164
    assert event["type"] == "ghl.contact.created"
    assert event["data"]["phone"] == "+442079460188"


@pytest.mark.parametrize("phone,expected", [(None, {}), ("", {}),
                                            ("12", {"phone_raw": "12"}),
                                            ("not a phone", {"phone_raw": "not a phone"})])
def test_a_contact_without_a_usable_phone_still_becomes_a_valid_event(phone, expected):
    # Given a contact without a phone, or with one that cannot be read
    contact = {"id": "g-3", "name": "Nadia", "phone": phone,
               "dateUpdated": "2027-01-15T08:00:00.000Z"}
    # When it becomes an event
    event = validate_event(ghl_contact_event(contact))
    # Then it is valid (the worker skips and counts it), without a phone
    assert "phone" not in event["data"]
    assert {k: v for k, v in event["data"].items() if k == "phone_raw"} == expected


def test_ghl_fields_become_toky_fields():
    # Given GHL contacts with a split name, an odd spacing, a country name
    # When mapped to Toky's fields
    # Then the name is joined, blanks and non-codes are left out
    assert toky_contact_fields(GHL_ANA) == {
        "contact_name": "Ana María López", "email": "ana@example.com", "city": "Austin",
        "country_code": "US"}
    assert toky_contact_fields({"name": "Zed", "country": "United States", "email": " "}) == \
        {"contact_name": "Zed"}


def test_only_real_differences_are_changes():
    # Given Toky's Ana and what GHL says of her
    wanted = toky_contact_fields({**GHL_ANA, "city": "Dallas"})
    # When compared
    changes = changed_fields(TOKY_ANA, wanted)
    # Then the email's case and the name's spacing are not changes, the city is
    assert changes == {"city": "Dallas"}
    assert changed_fields(TOKY_ANA, toky_contact_fields(GHL_ANA)) == {}


def test_the_memory_keeps_one_direction_per_phone():
    # Given the memory after toky-ghl wrote Ana to GHL
    memory = SyncMemory(fakeredis.FakeRedis(), "t")
    fp = fingerprint(from_toky(TOKY_ANA))
    memory.record("+15125550101", TO_GHL, fp)
    # When asked about each direction
    # Then only the recorded direction and fingerprint match
    assert memory.is_echo("+15125550101", TO_GHL, fp)
    assert not memory.is_echo("+15125550101", TO_TOKY, fp)
    assert not memory.is_echo("+15125550101", TO_GHL, "other")
    # And a later write the other way replaces it
    memory.record("+15125550101", TO_TOKY, fp)
    assert memory.last("+15125550101") == (TO_TOKY, fp)
    assert not memory.is_echo("+15125550101", TO_GHL, fp)
    assert memory.matching({"+15125550101": fp, "+15125550199": fp}, TO_TOKY) == \
        {"+15125550101"}
    with pytest.raises(ValueError):
        memory.record("+15125550101", "sideways", fp)
