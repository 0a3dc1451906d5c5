"""GHL simulator: contact endpoints, validation, duplicates and upsert (reference:
Endpoints, Objects, Errors, Duplicates and upsert)."""

from __future__ import annotations

import re

import pytest

from simulators.ghl import GhlSim
from simulators.ghl.testing import FakeClock, GhlTestClient, make_api

LOC = "locAAAAAAAAAAAAAAAAA"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
GHL_ID = re.compile(r"^[A-Za-z0-9]{20}$")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> GhlTestClient:
    return make_api(LOC, clock=clock)


@pytest.fixture
def sim(api: GhlTestClient) -> GhlSim:
    return api.sim


def create(api: GhlTestClient, **fields) -> dict:
    answer = api.post("/contacts/", {"locationId": LOC, **fields})
    assert answer.status_code == 201, answer.json
    return answer.json["contact"]


def stored(sim: GhlSim) -> list[dict]:
    return sim.state()["locations"][LOC]["contacts"]


# -- create / get / update / delete ------------------------------------------------
def test_create_answers_201_with_the_contact_in_ghl_shape(api):
    answer = api.post("/contacts/", {
        "locationId": LOC, "firstName": "Ana", "lastName": "López", "email": "Ana@Example.com",
        "phone": "+1 512-555-0101", "tags": ["lead", "lead", "vip"], "source": "Toky",
        "customFields": [{"id": "cf1", "field_value": 3}, {"key": "plan", "field_value": "gold"}],
    })
    assert answer.status_code == 201
    contact = answer.json["contact"]
    assert GHL_ID.match(contact["id"])
    assert contact["locationId"] == LOC
    assert contact["name"] == "Ana López"
    assert contact["email"] == "Ana@Example.com"
    assert contact["phone"] == "+15125550101"
    assert contact["tags"] == ["lead", "vip"]
    assert contact["customFields"] == [{"id": "cf1", "value": 3}, {"id": "plan", "value": "gold"}]
    assert ISO_MS.match(contact["dateAdded"]) and contact["dateAdded"] == contact["dateUpdated"]


def test_get_answers_the_stored_contact(api):
    contact = create(api, email="a@example.com")
    answer = api.get(f"/contacts/{contact['id']}")
    assert answer.status_code == 200
    assert answer.json == {"contact": contact}


def test_unknown_contact_is_404(api):
    answer = api.get("/contacts/nosuchcontact0000000")
    assert answer.status_code == 404
    assert answer.json["statusCode"] == 404


def test_update_answers_succeded_and_the_contact_and_moves_date_updated(api, clock):
    contact = create(api, email="a@example.com", tags=["old"])
    clock.advance(5)
    answer = api.put(f"/contacts/{contact['id']}", {"city": "Austin", "tags": ["new"]})
    assert answer.status_code == 200
    assert answer.json["succeded"] is True
    updated = answer.json["contact"]
    assert updated["city"] == "Austin" and updated["email"] == "a@example.com"
    assert updated["tags"] == ["new"]
    assert updated["dateAdded"] == contact["dateAdded"]
    assert updated["dateUpdated"] > contact["dateUpdated"]


def test_update_merges_custom_fields_by_id(api):
    contact = create(api, customFields=[{"id": "a", "field_value": "1"},
                                        {"id": "b", "field_value": "2"}])
    answer = api.put(f"/contacts/{contact['id']}", {"customFields": [{"id": "b",
                                                                      "field_value": ["x"]}]})
    assert answer.json["contact"]["customFields"] == [{"id": "a", "value": "1"},
                                                      {"id": "b", "value": ["x"]}]


def test_update_refuses_location_id_with_a_422_list(api, sim):
    contact = create(api, email="a@example.com")
    answer = api.put(f"/contacts/{contact['id']}", {"locationId": LOC, "city": "Austin"})
    assert answer.status_code == 422
    assert answer.json == {"statusCode": 422, "message": ["property locationId should not exist"],
                           "error": "Unprocessable Entity"}
    assert stored(sim)[0]["city"] is None


def test_update_refuses_fields_the_update_dto_lacks(api):
    contact = create(api, email="a@example.com")
    answer = api.put(f"/contacts/{contact['id']}", {"companyName": "Acme"})
    assert answer.status_code == 422
    assert answer.json["message"] == ["property companyName should not exist"]


def test_create_lists_every_unknown_field(api, sim):
    answer = api.post("/contacts/", {"locationId": LOC, "contactName": "x", "foo": 1})
    assert answer.status_code == 422
    assert answer.json["message"] == ["property contactName should not exist",
                                      "property foo should not exist"]
    assert answer.json["error"] == "Unprocessable Entity"
    assert stored(sim) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "locationId should not be empty"),
        ({"locationId": LOC, "email": "not-an-email"}, "email must be an email"),
        ({"locationId": LOC, "tags": "vip"}, "tags must be an array"),
        ({"locationId": LOC, "dnd": "yes"}, "dnd must be a boolean value"),
        ({"locationId": LOC, "customFields": [{"field_value": 1}]},
         "customFields.0.id should not be empty"),
    ],
)
def test_create_validates_fields(api, body, message):
    answer = api.post("/contacts/", body)
    assert answer.status_code == 422
    assert message in answer.json["message"]


def test_a_body_that_is_not_a_json_object_is_400(api):
    answer = api.post("/contacts/", ["x"])
    assert answer.status_code == 400


def test_delete_answers_succeded_and_takes_the_contacts_tasks_and_notes(api, sim):
    contact = create(api, email="a@example.com")
    api.post(f"/contacts/{contact['id']}/notes", {"body": "hi"})
    api.post(f"/contacts/{contact['id']}/tasks", {"title": "t", "dueDate": "2026-01-01T00:00:00Z",
                                                  "completed": False})
    answer = api.delete(f"/contacts/{contact['id']}")
    assert answer.status_code == 200
    assert answer.json == {"succeded": True}
    assert api.get(f"/contacts/{contact['id']}").status_code == 404
    state = sim.state()["locations"][LOC]
    assert state["contacts"] == state["notes"] == state["tasks"] == []


# -- duplicates --------------------------------------------------------------------
def test_create_with_a_taken_email_is_400_naming_the_contact(api, sim):
    first = create(api, email="ana@example.com")
    answer = api.post("/contacts/", {"locationId": LOC, "email": "ANA@example.com"})
    assert answer.status_code == 400
    assert answer.json == {
        "statusCode": 400, "message": "This location does not allow duplicated contacts.",
        "meta": {"contactId": first["id"], "matchingField": "email"},
    }
    assert len(stored(sim)) == 1


def test_create_with_a_taken_phone_is_400_matching_phone(api):
    first = create(api, phone="+15125550101")
    answer = api.post("/contacts/", {"locationId": LOC, "phone": "+1 (512) 555-0101",
                                     "email": "other@example.com"})
    assert answer.status_code == 400
    assert answer.json["meta"] == {"contactId": first["id"], "matchingField": "phone"}


def test_locations_that_allow_duplicates_accept_them(api, sim):
    sim.set_allow_duplicates(LOC, True)
    create(api, email="a@example.com")
    create(api, email="a@example.com")
    assert len(stored(sim)) == 2


def test_update_to_another_contacts_phone_is_refused(api):
    create(api, phone="+15125550101")
    second = create(api, phone="+15125550102")
    answer = api.put(f"/contacts/{second['id']}", {"phone": "+15125550101"})
    assert answer.status_code == 400
    assert answer.json["meta"]["matchingField"] == "phone"


def test_duplicate_search_finds_by_email_then_phone(api):
    by_email = create(api, email="a@example.com", phone="+15125550101")
    by_phone = create(api, email="b@example.com", phone="+15125550102")
    found = api.get("/contacts/search/duplicate",
                    query={"locationId": LOC, "email": "A@example.com", "number": "+15125550102"})
    assert found.status_code == 200
    assert found.json["contact"]["id"] == by_email["id"]
    found = api.get("/contacts/search/duplicate", query={"locationId": LOC,
                                                        "number": "+15125550102"})
    assert found.json["contact"]["id"] == by_phone["id"]


def test_duplicate_search_without_a_match_answers_null(api):
    found = api.get("/contacts/search/duplicate", query={"locationId": LOC,
                                                        "email": "x@example.com"})
    assert found.status_code == 200
    assert found.json == {"contact": None}


def test_duplicate_search_needs_the_location(api):
    assert api.get("/contacts/search/duplicate", query={"email": "x@y.z"}).status_code == 422


# -- upsert ------------------------------------------------------------------------
def test_upsert_creates_then_updates_the_same_contact_by_email(api, sim):
    first = api.post("/contacts/upsert", {"locationId": LOC, "email": "a@example.com",
                                          "firstName": "Ana"})
    assert first.status_code == 200
    assert first.json["new"] is True and isinstance(first.json["traceId"], str)
    again = api.post("/contacts/upsert", {"locationId": LOC, "email": "A@EXAMPLE.com",
                                          "city": "Austin"})
    assert again.status_code == 200
    assert again.json["new"] is False
    assert again.json["contact"]["id"] == first.json["contact"]["id"]
    assert again.json["contact"]["city"] == "Austin"
    assert again.json["contact"]["firstName"] == "Ana"
    assert len(stored(sim)) == 1


def test_upsert_matches_by_phone_when_no_email_matches(api):
    contact = create(api, phone="+15125550101")
    answer = api.post("/contacts/upsert", {"locationId": LOC, "phone": "+15125550101",
                                           "email": "new@example.com"})
    assert answer.json["new"] is False
    assert answer.json["contact"]["id"] == contact["id"]
    assert answer.json["contact"]["email"] == "new@example.com"


def test_upsert_prefers_the_email_match_over_the_phone_match(api):
    by_email = create(api, email="a@example.com", phone="+15125550101")
    create(api, email="b@example.com", phone="+15125550102")
    answer = api.post("/contacts/upsert", {"locationId": LOC, "email": "a@example.com",
                                           "phone": "+15125550102"})
    assert answer.json["contact"]["id"] == by_email["id"]


def test_upsert_creates_anew_only_when_the_location_allows_duplicates(api, sim):
    create(api, email="a@example.com")
    body = {"locationId": LOC, "email": "a@example.com", "createNewIfDuplicateAllowed": True}
    assert api.post("/contacts/upsert", body).json["new"] is False
    sim.set_allow_duplicates(LOC, True)
    assert api.post("/contacts/upsert", body).json["new"] is True
    assert len(stored(sim)) == 2


def test_upsert_validates_like_create(api):
    answer = api.post("/contacts/upsert", {"locationId": LOC, "nope": 1})
    assert answer.status_code == 422
    assert answer.json["message"] == ["property nope should not exist"]


# -- listing and search ------------------------------------------------------------
def _many(api, clock, n: int) -> list[dict]:
    made = []
    for i in range(n):
        made.append(create(api, email=f"c{i}@example.com", firstName=f"C{i}"))
        clock.advance(0.001)
    return made


def test_list_pages_with_start_after_and_start_after_id(api, clock):
    made = _many(api, clock, 5)
    first = api.get("/contacts/", query={"locationId": LOC, "limit": 2})
    assert first.status_code == 200
    assert [c["id"] for c in first.json["contacts"]] == [c["id"] for c in made[:2]]
    assert first.json["count"] == 5
    meta = first.json["meta"]
    assert meta["total"] == 5 and meta["startAfterId"] == made[1]["id"]
    assert meta["startAfter"] == 1_800_000_000_001
    assert meta["nextPageUrl"]
    second = api.get("/contacts/", query={"locationId": LOC, "limit": 2,
                                          "startAfter": meta["startAfter"],
                                          "startAfterId": meta["startAfterId"]})
    assert [c["id"] for c in second.json["contacts"]] == [c["id"] for c in made[2:4]]
    last = api.get("/contacts/", query={"locationId": LOC, "limit": 2,
                                        "startAfterId": second.json["meta"]["startAfterId"]})
    assert [c["id"] for c in last.json["contacts"]] == [made[4]["id"]]
    assert last.json["meta"]["nextPageUrl"] is None


def test_list_defaults_to_20_and_refuses_more_than_100(api, clock):
    _many(api, clock, 21)
    assert len(api.get("/contacts/", query={"locationId": LOC}).json["contacts"]) == 20
    answer = api.get("/contacts/", query={"locationId": LOC, "limit": 101})
    assert answer.status_code == 422
    assert answer.json["message"] == ["limit must not be greater than 100"]


def test_list_needs_the_location_and_filters_by_query(api, clock):
    _many(api, clock, 3)
    assert api.get("/contacts/").status_code == 422
    found = api.get("/contacts/", query={"locationId": LOC, "query": "c1@"})
    assert [c["email"] for c in found.json["contacts"]] == ["c1@example.com"]


def test_business_lists_only_that_business(api, sim):
    sim.add_contact(LOC, {"email": "a@example.com", "businessId": "biz1"})
    sim.add_contact(LOC, {"email": "b@example.com"})
    answer = api.get("/contacts/business/biz1", query={"locationId": LOC})
    assert answer.status_code == 200
    assert [c["email"] for c in answer.json["contacts"]] == ["a@example.com"]
    assert answer.json["count"] == 1


def test_search_answers_contacts_and_total(api, clock):
    _many(api, clock, 3)
    answer = api.post("/contacts/search", {"locationId": LOC, "pageLimit": 2, "query": "example"})
    assert answer.status_code == 200
    assert answer.json["total"] == 3
    assert len(answer.json["contacts"]) == 2


def test_search_filters_by_phone_and_pages(api, clock):
    made = _many(api, clock, 3)
    api.put(f"/contacts/{made[1]['id']}", {"phone": "+15125550101"})
    answer = api.post("/contacts/search", {
        "locationId": LOC, "pageLimit": 10,
        "filters": [{"field": "phone", "operator": "eq", "value": "+1 512 555 0101"}],
    })
    assert [c["id"] for c in answer.json["contacts"]] == [made[1]["id"]]
    page2 = api.post("/contacts/search", {"locationId": LOC, "pageLimit": 2, "page": 2})
    assert [c["id"] for c in page2.json["contacts"]] == [made[2]["id"]]


def test_search_after_continues_from_the_last_contact(api, clock):
    made = _many(api, clock, 3)
    body = {"locationId": LOC, "pageLimit": 2,
            "sort": [{"field": "dateAdded", "direction": "desc"}]}
    first = api.post("/contacts/search", body).json["contacts"]
    assert [c["id"] for c in first] == [made[2]["id"], made[1]["id"]]
    rest = api.post("/contacts/search", {**body, "searchAfter": first[-1]["searchAfter"]})
    assert [c["id"] for c in rest.json["contacts"]] == [made[0]["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"locationId": LOC, "pageLimit": 10, "filters": [{"field": "email", "operator": "regex"}]},
        {"locationId": LOC, "pageLimit": 10, "extra": True},
        {"locationId": LOC},
    ],
)
def test_search_refuses_what_it_cannot_do(api, body):
    answer = api.post("/contacts/search", body)
    assert answer.status_code == 422
    assert isinstance(answer.json["message"], list)
