"""The Toky key every note, task and appointment carries, so it can be recognised in GHL.

A note's or task's body ends with a line ``[toky:call:8c1e5d02-…]``; an
appointment carries it as its ``description`` (never in its title: the calendar
shows titles to users). Keys are Toky object keys: ``call:<callid>``,
``voicemail:<id>``, ``sms:<id>``, ``note:<note_id>``, ``task:<task_id>``,
``appointment:<appointment_id>``, ``followup:call:<callid>``.
"""

from __future__ import annotations


def marker(key: str) -> str:
    """``[toky:<key>]``."""
    return f"[toky:{key}]"


def with_marker(text: str | None, key: str) -> str:
    """``text`` with the key's marker as its last line (only the marker when no text)."""
    text = (text or "").rstrip()
    return f"{text}\n\n{marker(key)}" if text else marker(key)


def carries_marker(text: str | None, key: str) -> bool:
    """True when ``text`` ENDS with the marker of exactly ``key``, as everything toky-ghl
    writes does (``with_marker``).

    A marker anywhere else is someone's text: a customer's SMS saying ``[toky:call:…]``
    is quoted in the middle of our SMS note (whose last line is the SMS's own marker), so
    that note is never taken for the call's.
    """
    return text is not None and text.rstrip().endswith(marker(key))
