"""appointment.created / updated / cancelled on GHL_CALENDAR_ID."""

from __future__ import annotations

import pytest

from tests.unit.sync_support import CALENDAR_ID, apply, apply_counting, event, make_context, samples
from worker.sync.outcome import Deferred, Unprocessable

PHONE = "+14155550134"


def test_appointment_created_on_the_calendar() -> None:
    # Given a known contact and an agent map
    ctx = make_context(field_map={"agents": {"sam@company.test": "u-sam"}})
    apply(samples()["s-001"], ctx)
    # When s-011 is applied
    outcome, calls = apply_counting(samples()["s-011"], ctx)
    # Then one create with the contract's fields, its key in the description (not the title)
    assert calls == ["create_appointment"]
    (appointment,) = ctx.client.appointments.values()
    contact = ctx.client.contact_by_phone(PHONE)
    assert {k: appointment.get(k) for k in ("calendarId", "contactId", "startTime", "endTime",
                                             "title", "description", "assignedUserId")} == {
        "calendarId": CALENDAR_ID, "contactId": contact["id"],
        "startTime": "2026-11-05T18:00:00-08:00", "endTime": "2026-11-05T18:30:00-08:00",
        "title": "Proposal review", "description": "[toky:appointment:ap-3]",
        "assignedUserId": "u-sam"}
    assert ctx.client.payloads[-1][1]["toNotify"] is False
    assert outcome.ghl_ids["appointment"] == appointment["id"]


def test_appointment_updated_then_cancelled() -> None:
    ctx = make_context()
    apply(samples()["s-011"], ctx)
    moved = {**samples()["s-011"]["data"], "start": "2026-11-06T10:00:00-08:00",
             "end": None, "status": "confirmed"}
    _, calls = apply_counting(event("appointment.updated", moved), ctx)
    assert calls == ["update_appointment"]
    (appointment,) = ctx.client.appointments.values()
    assert appointment["startTime"] == "2026-11-06T10:00:00-08:00"
    assert appointment["appointmentStatus"] == "confirmed"
    outcome, calls = apply_counting(
        event("appointment.cancelled", {"appointment_id": "ap-3", "phone": PHONE}), ctx)
    assert calls == ["update_appointment"]
    assert ctx.client.payloads[-1] == ("update_appointment", {"appointmentStatus": "cancelled",
                                                              "toNotify": False})
    assert appointment["id"] in ctx.client.appointments
    assert ctx.client.appointments[appointment["id"]]["appointmentStatus"] == "cancelled"
    assert outcome.detail == "appointment cancelled"


def test_cancelled_before_created_is_deferred() -> None:
    ctx = make_context()
    with pytest.raises(Deferred):
        apply(event("appointment.cancelled", {"appointment_id": "ap-3", "phone": PHONE}), ctx)


@pytest.mark.parametrize("event_type", ["appointment.created", "appointment.cancelled"])
def test_without_a_calendar_appointments_are_unprocessable(event_type) -> None:
    # Given GHL_CALENDAR_ID unset
    ctx = make_context(ghl_calendar_id=None)
    data = {**samples()["s-011"]["data"]}
    # When an appointment event arrives / Then it can never apply, and nothing is sent
    with pytest.raises(Unprocessable, match="GHL_CALENDAR_ID is not set"):
        apply(event(event_type, data), ctx)
    assert ctx.client.calls == []


def test_unknown_status_is_unprocessable_naming_the_field() -> None:
    ctx = make_context()
    data = {**samples()["s-011"]["data"], "status": "tentative-ish"}
    with pytest.raises(Unprocessable, match="data.status"):
        apply(event("appointment.created", data), ctx)
