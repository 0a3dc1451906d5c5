"""GHL simulator: appointments (calendars API, Version 2021-04-15) and users."""

from __future__ import annotations

import pytest

from simulators.ghl import GhlSim
from simulators.ghl.testing import ALL_SCOPES, GhlTestClient, make_api

LOC, OTHER = "locAAAAAAAAAAAAAAAAA", "locBBBBBBBBBBBBBBBBB"
START = "2026-12-01T10:00:00-06:00"


@pytest.fixture
def api() -> GhlTestClient:
    api = make_api(LOC)
    api.sim.add_token("tok-other", OTHER, ALL_SCOPES)
    api.sim.add_calendar(LOC, "cal1")
    api.sim.add_calendar(OTHER, "cal-other")
    return api


@pytest.fixture
def sim(api: GhlTestClient) -> GhlSim:
    return api.sim


@pytest.fixture
def contact_id(api: GhlTestClient) -> str:
    return api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"}).json[
        "contact"]["id"]


def _book(api, contact_id, **fields):
    body = {"calendarId": "cal1", "locationId": LOC, "contactId": contact_id,
            "startTime": START, **fields}
    return api.post("/calendars/events/appointments", body)


def test_create_answers_200_with_a_bare_appointment(api, contact_id):
    answer = _book(api, contact_id, title="Demo", appointmentStatus="new",
                   assignedUserId="user1", ignoreFreeSlotValidation=True, toNotify=False)
    assert answer.status_code == 200
    body = answer.json
    assert {"id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title",
            "appointmentStatus"} <= set(body)
    assert body["calendarId"] == "cal1" and body["locationId"] == LOC
    assert body["contactId"] == contact_id and body["startTime"] == START
    assert body["endTime"] == "2026-12-01T10:30:00-06:00"
    assert body["title"] == "Demo" and body["appointmentStatus"] == "new"
    assert body["assignedUserId"] == "user1"


def test_create_names_the_missing_required_fields(api):
    answer = api.post("/calendars/events/appointments", {"title": "x"})
    assert answer.status_code == 422
    assert sorted(answer.json["message"]) == ["calendarId should not be empty",
                                              "contactId should not be empty",
                                              "locationId should not be empty",
                                              "startTime should not be empty"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"startTime": "2026-12-01T10:00:00"},
         "startTime must be a valid ISO 8601 date string with a time zone offset"),
        ({"appointmentStatus": "booked"}, "appointmentStatus must be one of the following "
                                          "values: new, confirmed, cancelled, showed, noshow, "
                                          "invalid"),
        ({"notes": "x"}, "property notes should not exist"),
    ],
)
def test_create_validates_fields(api, contact_id, fields, message):
    answer = _book(api, contact_id, **fields)
    assert answer.status_code == 422
    assert message in answer.json["message"]


@pytest.mark.parametrize("calendar_id", ["nope", "cal-other"])
def test_a_calendar_the_location_lacks_is_400_and_nothing_is_booked(api, sim, contact_id,
                                                                    calendar_id):
    answer = _book(api, contact_id, calendarId=calendar_id)
    assert answer.status_code == 400
    assert "Calendar" in answer.json["message"]
    assert sim.state()["locations"][LOC]["appointments"] == []


def test_an_unknown_contact_is_400(api):
    answer = _book(api, "nobody")
    assert answer.status_code == 400
    assert "Contact" in answer.json["message"]


def test_update_answers_the_bare_appointment(api, contact_id):
    booked = _book(api, contact_id).json
    answer = api.put(f"/calendars/events/appointments/{booked['id']}",
                     {"title": "Moved", "startTime": "2026-12-02T10:00:00Z",
                      "endTime": "2026-12-02T11:00:00Z", "appointmentStatus": "cancelled"})
    assert answer.status_code == 200
    assert answer.json["id"] == booked["id"] and answer.json["title"] == "Moved"
    assert answer.json["startTime"] == "2026-12-02T10:00:00Z"
    assert answer.json["appointmentStatus"] == "cancelled"


def test_update_refuses_location_and_contact(api, contact_id):
    booked = _book(api, contact_id).json
    answer = api.put(f"/calendars/events/appointments/{booked['id']}",
                     {"locationId": LOC, "contactId": contact_id})
    assert answer.status_code == 422
    assert answer.json["message"] == ["property locationId should not exist",
                                      "property contactId should not exist"]


def test_update_of_an_unknown_or_foreign_appointment_is_404(api, contact_id):
    booked = _book(api, contact_id).json
    assert api.put("/calendars/events/appointments/nope", {"title": "x"}).status_code == 404
    foreign = api.put(f"/calendars/events/appointments/{booked['id']}", {"title": "x"},
                      token="tok-other")
    assert foreign.status_code == 404


def test_get_answers_the_event_wrapped(api, contact_id):
    booked = _book(api, contact_id, description="Bring notes").json
    answer = api.get(f"/calendars/events/appointments/{booked['id']}")
    assert answer.status_code == 200
    event = answer.json["event"]
    assert event["id"] == booked["id"] and event["contactId"] == contact_id
    assert event["notes"] == "Bring notes" and event["dateAdded"].endswith("Z")


def test_contact_appointments_lists_events(api, contact_id):
    booked = _book(api, contact_id, title="Demo").json
    answer = api.get(f"/contacts/{contact_id}/appointments")
    assert answer.status_code == 200
    assert [(e["id"], e["title"]) for e in answer.json["events"]] == [(booked["id"], "Demo")]


def test_contact_appointments_use_the_contacts_version(api, contact_id):
    answer = api.get(f"/contacts/{contact_id}/appointments", version="2021-04-15")
    assert answer.status_code == 400


# -- users -------------------------------------------------------------------------
def test_users_lists_the_locations_users(api, sim):
    user = sim.add_user(LOC, "Agent One", "one@example.com")
    sim.add_user(OTHER, "Someone Else", "else@example.com")
    answer = api.get("/users/", query={"locationId": LOC})
    assert answer.status_code == 200
    assert answer.json == {"users": [{"id": user["id"], "name": "Agent One",
                                      "email": "one@example.com"}]}
    assert len(user["id"]) == 20


def test_users_need_the_location_and_the_scope(api, sim):
    assert api.get("/users/").status_code == 422
    assert api.get("/users/", query={"locationId": OTHER}).status_code == 403
    sim.add_token("no-users", LOC, "contacts.readonly")
    assert api.get("/users/", query={"locationId": LOC}, token="no-users").status_code == 401
