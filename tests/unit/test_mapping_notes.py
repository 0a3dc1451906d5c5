"""Note bodies: what a person reads in GHL, and the Toky key the sync recognises."""

from __future__ import annotations

from worker.fieldmap import parse_field_map
from worker.mapping import (
    call_note_body,
    carries_marker,
    duration_text,
    note_payload,
    sms_note_body,
    toky_note_body,
    voicemail_note_body,
)

CALL = {"callid": "8c1e5d02-77a1", "direction": "inbound", "state": "completed",
        "from_number": "+14155550134", "to_number": "+14155550100", "duration": 184,
        "date": "2026-11-02 10:00:00", "agent": "sam@company.test", "agent_name": "Sam",
        "record_url": "https://app.toky.co/recordings/8c1e5d02"}


def test_durations_read_as_minutes_and_seconds() -> None:
    assert [duration_text(s) for s in (184, 21, 0, 3725, "22", None)] == \
        ["3m 4s", "21s", "0s", "1h 2m 5s", "22s", "unknown"]


def test_call_note_names_everything_and_ends_with_its_key() -> None:
    # Given a completed inbound call / When its note is written
    body = call_note_body(CALL, "call:8c1e5d02-77a1")
    # Then
    for part in ("Inbound call, completed", "Duration: 3m 4s", "Agent: Sam <sam@company.test>",
                 "Recording: https://app.toky.co/recordings/8c1e5d02",
                 "Call ID: 8c1e5d02-77a1", "Date: 2026-11-02 10:00:00 UTC"):
        assert part in body
    assert body.splitlines()[-1] == "[toky:call:8c1e5d02-77a1]"


def test_call_without_recording_or_agent_has_no_such_lines() -> None:
    data = {**CALL, "record_url": "", "agent": None, "agent_name": None, "state": "missed"}
    body = call_note_body(data, "call:x")
    assert "Recording" not in body and "Agent" not in body
    assert body.startswith("Inbound call, missed")


def test_voicemail_and_sms_notes() -> None:
    voicemail = voicemail_note_body(
        {"id": "vm-5521", "from_number": "+14155550177", "duration": 21,
         "record_url": "https://app.toky.co/voicemails/vm-5521"}, "voicemail:vm-5521")
    assert voicemail.startswith("Voicemail from +14155550177")
    assert "Duration: 21s" in voicemail and "vm-5521" in voicemail
    assert carries_marker(voicemail, "voicemail:vm-5521")
    sms = sms_note_body({"id": "sms-9001", "from_number": "+14155550134",
                         "to_number": "+14155550100", "text": "Running 5 minutes late"},
                        "sms:sms-9001", received=True)
    assert sms.startswith("SMS received") and "Running 5 minutes late" in sms
    assert sms.splitlines()[-1] == "[toky:sms:sms-9001]"


def test_marker_matches_only_its_own_key() -> None:
    body = toky_note_body({"body": "Decision maker is the CFO."}, "note:nt-1")
    assert body == "Decision maker is the CFO.\n\n[toky:note:nt-1]"
    assert carries_marker(body, "note:nt-1")
    assert not carries_marker(body, "note:nt-")
    assert not carries_marker(body, "note:nt-12")


def test_note_user_comes_from_the_agent_map() -> None:
    field_map = parse_field_map({"agents": {"sam@company.test": "u-sam"}})
    assert note_payload("b", "SAM@company.test", field_map) == {"body": "b", "userId": "u-sam"}
    assert note_payload("b", "other@company.test", field_map) == {"body": "b"}
