"""Toky task → GHL task fields; the follow-up task; appointments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from worker.fieldmap import parse_field_map
from worker.mapping import (
    appointment_payload,
    followup_task_payload,
    ghl_utc_seconds,
    new_task_payload,
    task_fields,
)
from worker.mapping.appointments import same_start

AGENTS = parse_field_map({"agents": {"sam@company.test": "u-sam"}})
NOW = datetime(2026, 11, 2, 12, 10, tzinfo=UTC)


def test_due_date_is_utc_without_milliseconds() -> None:
    # Given a due date with milliseconds and an offset
    fields = task_fields({"due_date": "2026-11-04T09:00:00.123-08:00"}, AGENTS, "task:t")
    # Then it is sent in UTC, whole seconds, with Z
    assert fields == {"dueDate": "2026-11-04T17:00:00Z"}
    assert ghl_utc_seconds(datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)) == \
        "2026-01-01T00:00:00Z"


def test_task_fields_map_assignee_and_keep_the_key_in_the_body() -> None:
    data = {"task_id": "tk-77", "title": "Send proposal", "body": "Include the Q1 discount",
            "due_date": "2026-11-04T17:00:00Z", "completed": False,
            "assignee": "sam@company.test"}
    assert task_fields(data, AGENTS, "task:tk-77") == {
        "title": "Send proposal", "body": "Include the Q1 discount\n\n[toky:task:tk-77]",
        "dueDate": "2026-11-04T17:00:00Z", "completed": False, "assignedTo": "u-sam"}


def test_update_sends_only_the_fields_given() -> None:
    assert task_fields({"task_id": "t", "completed": True, "title": None}, AGENTS, "task:t") == \
        {"completed": True}


def test_new_task_gets_what_ghl_requires() -> None:
    # Given a task with only a body / When its create payload is built
    payload = new_task_payload({"body": "Call the CFO\nabout pricing"}, AGENTS, "task:t", NOW)
    # Then title from the body's first line, due at the event, open, key in the body
    assert payload == {"title": "Call the CFO", "body": "Call the CFO\nabout pricing\n\n"
                       "[toky:task:t]", "dueDate": "2026-11-02T12:10:00Z", "completed": False}
    bare = new_task_payload({}, AGENTS, "task:t", NOW)
    assert bare["title"] == "Task from Toky" and bare["body"] == "[toky:task:t]"


def test_followup_task() -> None:
    # Given a missed call at 11:00 and 60 minutes to call back
    payload = followup_task_payload(
        caller="+14155550177", reason="Missed call", key="followup:call:c1",
        at=datetime(2026, 11, 2, 11, 0, tzinfo=UTC), due_minutes=60, assigned_to="u-sam")
    # Then
    assert payload["title"].startswith("Call back") and "+14155550177" in payload["title"]
    assert payload["dueDate"] == "2026-11-02T12:00:00Z"
    assert payload["completed"] is False and payload["assignedTo"] == "u-sam"
    assert payload["body"].endswith("[toky:followup:call:c1]")
    unassigned = followup_task_payload(caller="+1", reason="Voicemail", key="k", at=NOW,
                                       due_minutes=0, assigned_to=None)
    assert "assignedTo" not in unassigned


def test_appointment_payload() -> None:
    data = {"appointment_id": "ap-3", "title": "Proposal review",
            "start": "2026-11-05T18:00:00-08:00", "end": "2026-11-05T18:30:00-08:00",
            "assignee": "sam@company.test", "status": "Confirmed"}
    payload = appointment_payload(data, AGENTS, calendar_id="cal-1", key="appointment:ap-3")
    # Then the title is Toky's alone (the calendar shows it), the key is in the description,
    # and GHL's automations are off (toNotify false)
    assert payload == {
        "calendarId": "cal-1", "startTime": "2026-11-05T18:00:00-08:00",
        "endTime": "2026-11-05T18:30:00-08:00", "title": "Proposal review",
        "description": "[toky:appointment:ap-3]", "appointmentStatus": "confirmed",
        "assignedUserId": "u-sam", "ignoreFreeSlotValidation": True, "toNotify": False}


def test_appointment_payload_lets_ghl_notify_only_when_asked() -> None:
    data = {"start": "2026-11-05T18:00:00Z"}
    assert appointment_payload(data, AGENTS, calendar_id="c", key="k",
                               notify=True)["toNotify"] is True
    assert appointment_payload(data, AGENTS, calendar_id="c", key="k")["toNotify"] is False


@pytest.mark.parametrize(("listed", "same"), [
    ("2026-11-05T18:00:00-08:00", True),
    ("2026-11-06T02:00:00Z", True),         # the same instant in UTC
    ("2026-11-06T02:00:00.000Z", True),
    ("2026-11-05 18:00:00", True),          # GetEventSchema's form: the wall clock sent
    ("2026-11-06 02:00:00", True),          # or the same in UTC
    ("2026-11-05T18:30:00-08:00", False),
    ("2026-11-05 19:00:00", False),
    ("", False),
    (None, False),
])
def test_same_start_reads_listed_times_with_or_without_a_zone(listed, same) -> None:
    assert same_start(listed, "2026-11-05T18:00:00-08:00") is same


@pytest.mark.parametrize(("toky", "ghl"), [
    ("booked", "new"), ("confirmed", "confirmed"), ("canceled", "cancelled"),
    ("showed", "showed"), ("no-show", "noshow")])
def test_appointment_status(toky, ghl) -> None:
    data = {"start": "2026-11-05T18:00:00Z", "status": toky}
    assert appointment_payload(data, AGENTS, calendar_id="c", key="k")["appointmentStatus"] == ghl


def test_unknown_appointment_status_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        appointment_payload({"start": "2026-11-05T18:00:00Z", "status": "maybe"}, AGENTS,
                            calendar_id="c", key="k")
    assert "status" in caught.value.messages
