"""Toky appointment → GHL appointment payload (calendars API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, pre_load

from worker.fieldmap import FieldMap
from worker.mapping.fields import CleanText, IsoWithOffset
from worker.mapping.markers import title_with_marker

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
    data: Mapping[str, Any], field_map: FieldMap, *, calendar_id: str, key: str
) -> dict[str, Any]:
    """The GHL payload of a Toky appointment, without ``contactId`` (known when created).

    The title ends with the Toky key; ``appointmentStatus`` only when Toky
    gives a status; ``assignedUserId`` when the field map knows the assignee.
    ``ignoreFreeSlotValidation``: the appointment was booked in Toky, so GHL's
    free-slot check must not refuse it.
    """
    loaded = _SCHEMA.load(data)
    payload: dict[str, Any] = {
        "calendarId": calendar_id,
        "startTime": loaded["startTime"],
        "title": title_with_marker(loaded.get("title") or FALLBACK_TITLE, key),
        "ignoreFreeSlotValidation": True,
    }
    if "endTime" in loaded:
        payload["endTime"] = loaded["endTime"]
    if "status" in loaded:
        payload["appointmentStatus"] = ghl_status(loaded["status"])
    user_id = field_map.user_for(loaded.get("assignee"))
    if user_id:
        payload["assignedUserId"] = user_id
    return payload


def cancelled_payload() -> dict[str, Any]:
    """The update that cancels an appointment."""
    return {"appointmentStatus": "cancelled"}
