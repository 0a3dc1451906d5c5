"""Whose contact an event is about: the customer, not our own line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast


def customer_phone(event: Mapping[str, Any]) -> str | None:
    """The customer's phone: an inbound call's or a voicemail's ``from_number``, an
    outbound call's ``to_number``, a received sms's sender, a sent sms's recipient,
    else ``data.phone``. None when the event does not give it."""
    data = event["data"]
    kind = event["type"]
    if kind == "call.ended":
        side = "from_number" if data["direction"] == "inbound" else "to_number"
        return cast(str | None, data.get(side))
    if kind in ("voicemail.created", "sms.received"):
        return cast(str | None, data.get("from_number"))
    if kind == "sms.sent":
        return cast(str | None, data.get("to_number"))
    return cast(str | None, data.get("phone"))
