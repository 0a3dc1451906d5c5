"""Calendar appointments, and the appointments of a contact.

The calendar and the contact named in a body must exist in the token's
location: otherwise 400 (a bad reference in the body, not a missing URL; the
exact GHL status and wording are UNCONFIRMED). Free-slot validation is not
simulated: every slot is free.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from simulators.ghl import validation as rules
from simulators.ghl.errors import CALENDARS_VERSION, CONTACTS_VERSION, bad_request, missing
from simulators.ghl.gate import current_location, current_sim, endpoint, validated
from simulators.ghl.records import iso_ms, new_id
from simulators.ghl.routes_contacts import READ as CONTACTS_READ
from simulators.ghl.routes_contacts import contact_of
from simulators.ghl.state import Location

READ, WRITE = "calendars/events.readonly", "calendars/events.write"
#: Length of an appointment sent without ``endTime`` (GHL uses the calendar's slot length).
DEFAULT_DURATION = timedelta(minutes=30)
#: ASSUMPTION: the status of an appointment created without one.
DEFAULT_STATUS = "confirmed"
#: Body fields that steer the booking and are not kept on the appointment.
_NOT_STORED = ("ignoreDateRange", "ignoreFreeSlotValidation", "toNotify", "overrideLocationConfig",
               "meetingLocationId")
# AppointmentSchemaResponse: the bare object POST and PUT answer with.
_BARE_FIELDS = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title",
                "meetingLocationType", "appointmentStatus", "assignedUserId", "address",
                "isRecurring", "rrule")
# CalendarEventDTO: GET /calendars/events/appointments/{eventId} answers {"event": ...}.
_EVENT_FIELDS = ("id", "address", "title", "calendarId", "locationId", "contactId", "groupId",
                 "appointmentStatus", "assignedUserId", "users", "notes", "description",
                 "isRecurring", "rrule", "startTime", "endTime", "dateAdded", "dateUpdated")

bp = Blueprint("ghl_appointments", __name__)


def _view(appointment: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: appointment.get(name) for name in fields}


# GetEventSchema (apps/contacts.json): an item of GET /contacts/{id}/appointments.
# It has ``notes`` and no ``description``; its example times read "2021-07-16 11:00:00".
_LISTED_FIELDS = ("id", "calendarId", "title", "assignedUserId", "startTime", "endTime",
                  "address", "locationId", "contactId", "groupId", "appointmentStatus", "users",
                  "dateAdded", "dateUpdated")


def _event(appointment: dict[str, Any]) -> dict[str, Any]:
    """CalendarEventDTO; ``notes`` carries the description, ``status`` the appointment status."""
    return {**_view(appointment, _EVENT_FIELDS), "notes": appointment.get("description"),
            "status": appointment.get("appointmentStatus")}


def _listed(appointment: dict[str, Any]) -> dict[str, Any]:
    """GetEventSchema: no ``description``; ``notes`` carries it only when
    ``list_description_as_notes`` is on (UNCONFIRMED, see ``SimConfig``)."""
    notes = appointment.get("description") if current_sim().config.list_description_as_notes \
        else None
    return {**_view(appointment, _LISTED_FIELDS), "notes": notes,
            "status": appointment.get("appointmentStatus")}


def _automations(location: Location, appointment: dict[str, Any], body: dict[str, Any],
                 action: str) -> None:
    """Record the automations GHL runs unless the write said ``toNotify: false``."""
    if body.get("toNotify") is not False:
        location.automations.append({"appointmentId": appointment["id"], "action": action})


def _check_calendar(location: Location, calendar_id: str) -> None:
    if calendar_id not in location.calendars:
        raise bad_request(f"Calendar not found: {calendar_id}")


def _appointment_of(location: Location, event_id: str) -> dict[str, Any]:
    appointment = location.appointments.get(event_id)
    if appointment is None:
        raise missing("Appointment", event_id)
    return appointment


def _stored(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _NOT_STORED}


@bp.post("/calendars/events/appointments")
@endpoint(WRITE, CALENDARS_VERSION, write=True)
def create_appointment() -> ResponseReturnValue:
    body = validated(rules.CREATE_APPOINTMENT)
    location = current_location()
    _check_calendar(location, body["calendarId"])
    if body["contactId"] not in location.contacts:
        raise bad_request(f"Contact not found: {body['contactId']}")
    now = iso_ms(current_sim().clock())
    end = datetime.fromisoformat(body["startTime"]) + DEFAULT_DURATION
    appointment = {
        "id": new_id(), "title": "", "appointmentStatus": DEFAULT_STATUS,
        "endTime": end.isoformat(), "isRecurring": False, "users": [], "groupId": None,
        **_stored(body), "dateAdded": now, "dateUpdated": now,
    }
    location.appointments[appointment["id"]] = appointment
    _automations(location, appointment, body, "created")
    return _view(appointment, _BARE_FIELDS)


@bp.put("/calendars/events/appointments/<event_id>")
@endpoint(WRITE, CALENDARS_VERSION, write=True)
def update_appointment(event_id: str) -> ResponseReturnValue:
    body = validated(rules.UPDATE_APPOINTMENT)
    location = current_location()
    appointment = _appointment_of(location, event_id)
    if body.get("calendarId"):
        _check_calendar(location, body["calendarId"])
    appointment.update(_stored(body), dateUpdated=iso_ms(current_sim().clock()))
    _automations(location, appointment, body, "updated")
    return _view(appointment, _BARE_FIELDS)


@bp.get("/calendars/events/appointments/<event_id>")
@endpoint(READ, CALENDARS_VERSION)
def get_appointment(event_id: str) -> ResponseReturnValue:
    return {"event": _event(_appointment_of(current_location(), event_id))}


@bp.get("/contacts/<contact_id>/appointments")
@endpoint(CONTACTS_READ, CONTACTS_VERSION)
def contact_appointments(contact_id: str) -> ResponseReturnValue:
    location = current_location()
    contact_of(location, contact_id)
    found = [a for a in location.appointments.values() if a["contactId"] == contact_id]
    return {"events": [_listed(a) for a in found]}
