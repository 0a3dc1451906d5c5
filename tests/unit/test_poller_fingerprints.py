"""Contact fingerprints: new → created, changed → updated, the same change → the same id."""

from __future__ import annotations

import fakeredis
import pytest

from producers.poller.fingerprints import ContactFingerprints, contact_data

PHONE = "+15125550101"
ANA = {"phone": PHONE, "contact_name": "Ana", "email": "ana@example.com", "city": "Austin"}


@pytest.fixture
def prints():
    return ContactFingerprints(fakeredis.FakeRedis(), "t:poller:contacts")


def test_a_new_phone_is_created_and_once_saved_is_not_a_change(prints):
    # Given a phone never seen
    # When it is compared, saved, and compared again
    first = prints.changes({PHONE: ANA})
    prints.save(first.values())
    again = prints.changes({PHONE: ANA})
    # Then it is a creation, version 1, and then no change at all
    assert first[PHONE].event_type == "contact.created"
    assert first[PHONE].event_id.startswith(f"contact-{PHONE}-1.")
    assert again == {}


def test_a_changed_contact_is_an_update_with_the_next_version(prints):
    # Given a saved contact
    prints.save(prints.changes({PHONE: ANA}).values())
    # When its city changes
    change = prints.changes({PHONE: {**ANA, "city": "Dallas"}})[PHONE]
    # Then it is an update, version 2
    assert change.event_type == "contact.updated"
    assert change.event_id.startswith(f"contact-{PHONE}-2.")


def test_the_same_change_seen_twice_before_saving_has_one_id(prints):
    # Given a saved contact whose change was seen but not saved (poller stopped)
    prints.save(prints.changes({PHONE: ANA}).values())
    changed = {PHONE: {**ANA, "email": "new@example.com"}}
    # When the change is seen again
    # Then both sightings give the same event id
    assert prints.changes(changed)[PHONE].event_id == prints.changes(changed)[PHONE].event_id


def test_changing_back_gets_a_new_id_not_the_old_one(prints):
    # Given A, then B, saved
    ids = []
    for data in (ANA, {**ANA, "city": "Dallas"}, ANA):
        change = prints.changes({PHONE: data})[PHONE]
        ids.append(change.event_id)
        prints.save([change])
    # Then going back to A is a third, distinct event (not a repeat of the first)
    assert len(set(ids)) == 3


def test_blank_fields_are_left_out_of_the_mapped_data():
    # Given a Toky contact with an empty email and country
    row = {"phone": PHONE, "contact_name": "Ana", "email": "", "city": "Austin",
           "country_code": "", "extra": "x"}
    # When its mapped fields are taken
    # Then blanks and unknown fields are not there
    assert contact_data(row) == {"phone": PHONE, "contact_name": "Ana", "city": "Austin"}
