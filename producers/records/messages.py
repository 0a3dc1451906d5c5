"""Toky voicemails and SMS as ``voicemail.created`` and ``sms.received`` / ``sms.sent`` events.

The rows of the (undocumented) lists are named like the webhook payloads
(``clients.toky.paths.VOICEMAIL_FIELDS`` / ``SMS_FIELDS``), so the poller and
the webhook receiver share these functions.
"""

from __future__ import annotations

from typing import Any

from clients.toky.agents import agent_email
from contract.events import InvalidEvent, event_id_for
from producers.records.calls import parse_int
from producers.records.toky_time import iso_z, parse_toky_time, toky_time_as_iso

#: SMS ``direction`` values (lower-cased) and the event type each means.
SMS_TYPES = {
    "inbound": "sms.received", "in": "sms.received", "incoming": "sms.received",
    "received": "sms.received",
    "outbound": "sms.sent", "out": "sms.sent", "outgoing": "sms.sent", "sent": "sms.sent",
}


class UnknownDirection(InvalidEvent):
    """An SMS whose ``direction`` is neither inbound nor outbound."""


def _envelope(kind: str, event_type: str, row: dict[str, Any], data: dict[str, Any],
              fallback_time: str | None) -> dict[str, Any]:
    raw_id = str(row.get("id") or "").strip()
    moment = parse_toky_time(row.get("date"))
    agent = agent_email(data.get("agent"))  # Toky's name__domain or an email
    if agent:
        data = {**data, "agent": agent}
    return {
        "id": event_id_for(kind, raw_id) if raw_id else None,
        "type": event_type,
        "occurred_at": iso_z(moment) if moment else fallback_time or data.get("date"),
        "data": {k: v for k, v in data.items() if v is not None},
    }


def duration_value(raw: object) -> object:
    """A duration in whole seconds; blank → None; unreadable → unchanged (validation names it)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    number = parse_int(raw)
    return raw if number is None else number


def voicemail_event(row: dict[str, Any], fallback_time: str | None = None) -> dict[str, Any]:
    """The ``voicemail.created`` event of a voicemail: id ``voicemail-{id}``,
    ``occurred_at`` = its ``date`` (else ``fallback_time``), ``duration`` in seconds.
    """
    data = {**row, "date": toky_time_as_iso(row.get("date")) or None}
    if "duration" in row:
        data["duration"] = duration_value(row.get("duration"))
    return _envelope("voicemail", "voicemail.created", row, data, fallback_time)


def sms_type(row: dict[str, Any], default: str = "sms.received") -> str:
    """``sms.received`` or ``sms.sent`` from the row's ``direction`` (``default`` when absent).

    Raises ``UnknownDirection`` for any other value.
    """
    raw = str(row.get("direction") or "").strip().lower()
    if not raw:
        return default
    if raw not in SMS_TYPES:
        raise UnknownDirection(f"data.direction: must be inbound or outbound, got {raw!r}")
    return SMS_TYPES[raw]


def sms_event(row: dict[str, Any], fallback_time: str | None = None) -> dict[str, Any]:
    """The ``sms.received`` / ``sms.sent`` event of an SMS: id ``sms-{id}``,
    ``occurred_at`` = its ``date`` (else ``fallback_time``). Raises ``UnknownDirection``.
    """
    data = {**row, "date": toky_time_as_iso(row.get("date")) or None}
    return _envelope("sms", sms_type(row), row, data, fallback_time)
