"""Toky appointment → GHL appointment payload (calendars API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, pre_load

from worker.fieldmap import FieldMap
from worker.mapping.fields import CleanText, IsoWithOffset
from worker.mapping.markers import with_marker

FALLBACK_TITLE = "Appointment"

#: Toky appointment status (lower-cased) → GHL ``appointmentStatus``.
GHL_STATUS = {
    "new": "new", "booked": "new", "scheduled": "new", "pending": "new",
    "confirmed": "confirmed",
    "cancelled": "cancelled", "canceled": "cancelled",
    "showed": "showed", "show": "showed", "attended": "showed", "completed": "showed",
    "noshow": "noshow", "no_show": "noshow", "no-show": "noshow", "missed": "noshow",
}


def ghl_status(toky_status: str) -> str:
    """GHL's status for a Toky one; ValidationError naming ``status`` when unknown."""
    status = GHL_STATUS.get(toky_status.strip().lower())
    if status is None:
        raise ValidationError({"status": [
            f"unknown appointment status {toky_status!r}; known: {', '.join(GHL_STATUS)}"]})
    return status


class AppointmentSchema(Schema):
    """Toky appointment ``data`` → its GHL fields (times ISO 8601 with their offset)."""

    class Meta:
        unknown = EXCLUDE

    startTime = IsoWithOffset(data_key="start", required=True)
    endTime = IsoWithOffset(data_key="end")
    title = CleanText()
    status = CleanText()
    assignee = CleanText()

    @pre_load
    def _drop_unset(self, data: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v is not None}


_SCHEMA = AppointmentSchema()


def appointment_payload(
    data: Mapping[str, Any], field_map: FieldMap, *, calendar_id: str, key: str,
    notify: bool = False,
) -> dict[str, Any]:
    """The GHL payload of a Toky appointment, without ``contactId`` (known when created).

    The title is Toky's, as is (the calendar shows it to users); the Toky key
    goes in ``description`` (AppointmentCreateSchema and AppointmentEditSchema
    have it, apps/calendars.json). ``toNotify`` is ``notify``: the spec says
    "if set to false, the automations will not run" (confirmations, reminders
    for an appointment GHL did not book). ``appointmentStatus`` only when Toky
    gives a status; ``assignedUserId`` when the field map knows the assignee.
    ``ignoreFreeSlotValidation``: the appointment was booked in Toky, so GHL's
    free-slot check must not refuse it.
    """
    loaded = _SCHEMA.load(data)
    payload: dict[str, Any] = {
        "calendarId": calendar_id,
        "startTime": loaded["startTime"],
        "title": loaded.get("title") or FALLBACK_TITLE,
        "description": with_marker(None, key),
        "ignoreFreeSlotValidation": True,
        "toNotify": bool(notify),
    }
    if "endTime" in loaded:
        payload["endTime"] = loaded["endTime"]
    if "status" in loaded:
        payload["appointmentStatus"] = ghl_status(loaded["status"])
    user_id = field_map.user_for(loaded.get("assignee"))
    if user_id:
        payload["assignedUserId"] = user_id
    return payload


def _instant(raw: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def same_start(listed: Any, sent: str) -> bool:
    """True when an appointment's listed ``startTime`` is the start we sent (ISO with offset).

    GHL's list of a contact's appointments (GetEventSchema, apps/contacts.json)
    shows times like ``"2021-07-16 11:00:00"``, without a zone: such a time
    matches when it equals the sent start's wall clock in its own offset or in UTC.
    """
    ours, theirs = _instant(sent), _instant(listed)
    if ours is None or theirs is None:
        return False
    if theirs.tzinfo is not None:
        return theirs == ours
    return theirs in (ours.replace(tzinfo=None), ours.astimezone(UTC).replace(tzinfo=None))


def same_appointment(listed: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """True when ``listed`` (one of the contact's appointments) is the one ``payload`` makes:
    same calendar and same start."""
    return (listed.get("calendarId") == payload.get("calendarId")
            and same_start(listed.get("startTime"), str(payload.get("startTime") or "")))


def cancelled_payload(*, notify: bool = False) -> dict[str, Any]:
    """The update that cancels an appointment (``toNotify`` as for any other write)."""
    return {"appointmentStatus": "cancelled", "toNotify": bool(notify)}
