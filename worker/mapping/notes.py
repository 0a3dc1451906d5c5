"""Note bodies for what Toky records: calls, voicemails, sms, and Toky's own notes.

Pure functions of an event's ``data``; each body ends with the object's Toky
key (``markers.with_marker``) so the note can be recognised in GHL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from worker.fieldmap import FieldMap
from worker.mapping.durations import duration_text
from worker.mapping.fields import parse_time
from worker.mapping.markers import with_marker


def when_text(raw: str | None) -> str | None:
    """A Toky time as ``"2026-11-02 10:00:00 UTC"``, or None when not given."""
    if not raw:
        return None
    return parse_time(raw).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def agent_text(email: str | None, name: str | None = None) -> str | None:
    """``"Sam <sam@company.test>"``, or whichever of the two is known, or None."""
    if name and email:
        return f"{name} <{email}>"
    return name or email or None


def _lines(*pairs: tuple[str, Any]) -> list[str]:
    return [f"{label}: {value}" for label, value in pairs if value not in (None, "")]


def call_note_body(data: Mapping[str, Any], key: str) -> str:
    """A call's note: direction, state, duration, agent, numbers, time, recording, callid."""
    head = f"{data['direction'].capitalize()} call, {data['state']}"
    lines = _lines(
        ("Duration", duration_text(data.get("duration"))),
        ("Agent", agent_text(data.get("agent"), data.get("agent_name"))),
        ("From", data.get("from_number")),
        ("To", data.get("to_number")),
        ("Date", when_text(data.get("date"))),
        ("Recording", data.get("record_url")),
        ("Call ID", data["callid"]),
    )
    return with_marker("\n".join([head, *lines]), key)


def voicemail_note_body(data: Mapping[str, Any], key: str) -> str:
    """A voicemail's note: caller, line, time, duration, agent, recording, voicemail id."""
    lines = _lines(
        ("To", data.get("to_number")),
        ("Date", when_text(data.get("date"))),
        ("Duration", duration_text(data.get("duration"))),
        ("Agent", agent_text(data.get("agent"))),
        ("Recording", data.get("record_url")),
        ("Voicemail ID", data["id"]),
    )
    return with_marker("\n".join([f"Voicemail from {data['from_number']}", *lines]), key)


def sms_note_body(data: Mapping[str, Any], key: str, *, received: bool) -> str:
    """An sms's note: direction, numbers, time, agent, the text, sms id."""
    head = "SMS received" if received else "SMS sent"
    lines = _lines(
        ("From", data["from_number"]),
        ("To", data["to_number"]),
        ("Date", when_text(data.get("date"))),
        ("Agent", agent_text(data.get("agent"))),
        ("SMS ID", data["id"]),
    )
    return with_marker("\n".join([head, *lines, "", data.get("text") or ""]), key)


def toky_note_body(data: Mapping[str, Any], key: str) -> str:
    """A note written in Toky: its body as written."""
    return with_marker(data["body"], key)


def note_payload(body: str, agent: str | None, field_map: FieldMap) -> dict[str, Any]:
    """A GHL note: ``body``, and ``userId`` when the field map knows the Toky agent."""
    payload: dict[str, Any] = {"body": body}
    user_id = field_map.user_for(agent)
    if user_id:
        payload["userId"] = user_id
    return payload
