"""A Toky call record (CDR) as a ``call.ended`` event.

CDR values arrive as strings ("22", "200"); times are GMT without a zone.
"""

from __future__ import annotations

import re
from typing import Any

from clients.toky.agents import agent_email
from contract.events import event_id_for
from producers.records.toky_time import first_time

#: A value written like a phone number (a ``from`` that is not is an id, not a number).
_PHONE_LIKE = re.compile(r"[0-9 ()./+-]{1,40}")
#: Toky's disposition code of a connected call.
ANSWERED_CODE = 200
#: CDR fields renamed or rewritten by the mapping; every other CDR field is kept as is.
_REWRITTEN = frozenset({"from", "duration", "direction", "agent_id"})


def parse_int(raw: object) -> int | None:
    """``"22"``, ``22`` or ``"22.0"`` → 22; None when empty, not a number or not finite
    (``"1e999"``, a 400-digit number)."""
    if isinstance(raw, bool):
        return None
    try:
        return int(float(str(raw).strip()))
    except (TypeError, ValueError, OverflowError):
        return None


def call_state(direction: str, disposition_code: object, duration_s: object) -> str | None:
    """The contract's ``state`` of a call, from its CDR.

    A call was answered when its disposition code is 200 AND its duration
    (seconds) is above 0. Then:

    - inbound:  answered → ``completed``; otherwise → ``missed``
    - outbound: answered → ``completed``; otherwise → ``unsuccessful``

    A missing or unreadable code or duration counts as not answered. None for a
    direction other than inbound/outbound (validation then names the field).
    """
    answered = parse_int(disposition_code) == ANSWERED_CODE and (parse_int(duration_s) or 0) > 0
    if direction == "inbound":
        return "completed" if answered else "missed"
    if direction == "outbound":
        return "completed" if answered else "unsuccessful"
    return None


def phone_like(raw: object) -> bool:
    """True when ``raw`` is written like a phone number (digits, ``+``, spaces, ``()-.``),
    so that a bad one is refused naming the field rather than taken for an id."""
    text = raw.strip() if isinstance(raw, str) else ""
    return any(c.isdigit() for c in text) and bool(_PHONE_LIKE.fullmatch(text))


def call_numbers(row: dict[str, Any]) -> tuple[object, object]:
    """``(from_number, to_number)`` as the contract names them (webhook meaning).

    Toky's CDR ``from`` is "inbound number, agent id or web caller id" (Toky's
    CDR reference). Inbound: from = CDR ``from`` (the caller) when it is a
    number, to = ``to_number``, else ``received_on_number`` (our line).
    Outbound: ``from`` is the agent, so from = ``caller_id_used`` (our line;
    a ``from`` written as a number is taken when that is missing), to =
    ``to_number`` (the customer). A ``from`` that is not a number (a web caller
    id, "anonymous") gives no ``from_number``: the worker then skips the call's
    note with a reason instead of the poller refusing the call.
    """
    to_number = row.get("to_number") or None
    raw_from = row.get("from")
    from_number = raw_from if phone_like(raw_from) else None
    if row.get("direction") == "inbound" and not to_number:
        to_number = row.get("received_on_number") or None
    if row.get("direction") == "outbound":
        line = row.get("caller_id_used")
        from_number = line if phone_like(line) else from_number
    return from_number or None, to_number


def call_agent(row: dict[str, Any]) -> str | None:
    """The agent's email: ``agent_id``, else an outbound call's ``from``; Toky's
    ``name__domain`` form read as ``name@domain`` (``clients.toky.agents``)."""
    agent = agent_email(row.get("agent_id"))
    if agent is None and row.get("direction") == "outbound":
        agent = agent_email(row.get("from"))
    return agent


def needs_recording(row: dict[str, Any]) -> bool:
    """True when the call was answered, so a recording may exist."""
    return call_state(str(row.get("direction", "")), row.get("disposition_code"),
                      row.get("duration")) == "completed"


def cdr_event(row: dict[str, Any], record_url: str | None = None) -> dict[str, Any]:
    """The ``call.ended`` event (not yet validated) of one CDR row.

    ``id`` = ``call-{callid}``; ``occurred_at`` = ``end_time`` (else ``init_dt``);
    ``data.date`` = ``start_time`` (else ``init_dt``), both ISO 8601 with ``Z``;
    ``duration`` in whole seconds; ``agent`` = the agent's email (``call_agent``);
    a ``from`` that is neither a number nor the agent is kept as ``from_raw``.
    """
    direction = str(row.get("direction", "")).strip().lower()
    callid = str(row.get("callid") or "").strip()
    from_number, to_number = call_numbers({**row, "direction": direction})
    data: dict[str, Any] = {k: v for k, v in row.items() if k not in _REWRITTEN}
    data.update({
        "callid": callid or None,
        "direction": direction,
        "state": call_state(direction, row.get("disposition_code"), row.get("duration")),
        "from_number": from_number,
        "to_number": to_number,
        "duration": parse_int(row.get("duration")),
        "date": first_time(row.get("start_time"), row.get("init_dt")),
        "agent_id": row.get("agent_id"),
    })
    agent = call_agent({**row, "direction": direction})
    if agent:
        data["agent"] = agent
    raw_from = row.get("from")
    if raw_from and not phone_like(raw_from) and agent_email(raw_from) is None:
        data["from_raw"] = str(raw_from)[:120]
    if record_url:
        data["record_url"] = record_url
    return {
        "id": event_id_for("call", callid) if callid else None,
        "type": "call.ended",
        "occurred_at": first_time(row.get("end_time"), row.get("init_dt")),
        "data": {k: v for k, v in data.items() if v is not None},
    }
