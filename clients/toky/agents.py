"""Toky agent ids: the agent's email, written by Toky with ``@`` as ``__``.

Toky's REST answers (a CDR's ``agent_id``, an outbound CDR's ``from``) write an
agent as ``carlos__myagent.com`` (Toky's pagination example; reference/toky-api.md);
its webhooks carry the plain email (``agent``). Every place an agent appears
(events, the field map's ``agents:`` keys) goes through ``agent_email`` so that
both spellings name the same agent.
"""

from __future__ import annotations

from clients.toky.paths import AGENT_ID_AT

#: Longest agent id read (an email is at most 254 characters).
MAX_AGENT_ID_LENGTH = 320


def agent_email(raw: object) -> str | None:
    """The agent's email, lower-cased: ``"Carlos__Acme.com"`` → ``"carlos@acme.com"``,
    ``"carlos@acme.com"`` unchanged (lower-cased). None when ``raw`` names no agent
    (empty, not a string, or neither an ``@`` nor a ``__`` with text on both sides).

    ``__`` is read at its LAST occurrence: the domain part of an email has no
    underscore, the local part may (``ana__maria__acme.com`` → ``ana__maria@acme.com``).
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or len(text) > MAX_AGENT_ID_LENGTH or any(c.isspace() for c in text):
        return None
    if "@" in text:
        local, _, domain = text.rpartition("@")
    else:
        local, sep, domain = text.rpartition(AGENT_ID_AT)
        if not sep:
            return None
    if not local or not domain or "." not in domain:
        return None
    return f"{local}@{domain}".lower()


def is_agent_id(raw: object) -> bool:
    """True when ``raw`` is an agent (Toky's ``__`` form or an email), not a phone."""
    return agent_email(raw) is not None
