"""A Toky webhook payload as an event (not yet validated), ids derived as the poller does.

| Toky event | event type | id |
|---|---|---|
| ``inbound_call_ended``, ``outbound_call_ended`` | ``call.ended`` | ``call-{callid}`` |
| ``new_voicemail`` | ``voicemail.created`` | ``voicemail-{id}`` |
| ``new_sms`` | ``sms.received`` (``sms.sent`` if ``direction`` says outbound) | ``sms-{id}`` |

``occurred_at`` is the payload's ``date`` (GMT) as ISO 8601 with ``Z``, or
``now`` when it has none. Payload fields are kept in Toky's names; ``date``
becomes ISO 8601 and ``duration`` a whole number of seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clients.toky.agents import agent_email
from contract.events import InvalidEvent, event_id_for
from producers.records.calls import phone_like
from producers.records.messages import duration_value, sms_event, voicemail_event
from producers.records.toky_time import iso_z, parse_toky_time, toky_time_as_iso

#: Call events and the direction each implies when the payload has none.
CALL_EVENTS = {"inbound_call_ended": "inbound", "outbound_call_ended": "outbound"}


def _require(payload: dict[str, Any], name: str) -> None:
    value = payload.get(name)
    if value is None or not str(value).strip():
        raise InvalidEvent(f"data.{name}: required field is missing")


def _customer_number(data: dict[str, Any]) -> None:
    """An inbound web call's caller: ``caller_phone_number`` when ``from_number`` is not a
    number (Toky's call payload: web widget calls carry ``caller_name``,
    ``caller_email``, ``caller_phone_number``); a ``from_number`` that is not a number
    (a web caller id) is kept as ``from_raw``, so the call is skipped with a reason
    by the worker instead of refused here."""
    if data["direction"] != "inbound" or phone_like(data.get("from_number")):
        return
    raw = data.pop("from_number", None)
    if raw:
        data["from_raw"] = str(raw)[:120]
    if phone_like(data.get("caller_phone_number")):
        data["from_number"] = data["caller_phone_number"]


def call_event(toky_event: str, payload: dict[str, Any], now: str) -> dict[str, Any]:
    """``call.ended`` from a call payload; ``direction`` from the payload, else the event name."""
    _require(payload, "callid")
    data = dict(payload)
    data["direction"] = str(payload.get("direction") or CALL_EVENTS[toky_event]).strip().lower()
    if "duration" in payload:
        data["duration"] = duration_value(payload["duration"])
    if payload.get("date"):
        data["date"] = toky_time_as_iso(payload["date"])
    _customer_number(data)
    agent = agent_email(payload.get("agent"))
    if agent:
        data["agent"] = agent
    moment = parse_toky_time(payload.get("date"))
    return {
        "id": event_id_for("call", str(payload["callid"]).strip()),
        "type": "call.ended",
        "occurred_at": iso_z(moment) if moment else now,
        "data": {k: v for k, v in data.items() if v is not None},
    }


def _voicemail(_toky_event: str, payload: dict[str, Any], now: str) -> dict[str, Any]:
    _require(payload, "id")
    return voicemail_event(payload, fallback_time=now)


def _sms(_toky_event: str, payload: dict[str, Any], now: str) -> dict[str, Any]:
    _require(payload, "id")
    return sms_event(payload, fallback_time=now)


#: Every Toky event the receiver handles → the function building its event.
HANDLERS: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "inbound_call_ended": call_event,
    "outbound_call_ended": call_event,
    "new_voicemail": _voicemail,
    "new_sms": _sms,
}
HANDLED_EVENTS = tuple(HANDLERS)


def event_for(toky_event: str, payload: dict[str, Any], now: str) -> dict[str, Any]:
    """The event of one webhook; ``now`` (ISO with ``Z``) is ``occurred_at`` when the payload
    has no date. Raises ``KeyError`` for an event not handled, ``InvalidEvent`` naming a field.
    """
    return HANDLERS[toky_event](toky_event, payload, now)
