"""Every Toky path, header and field name the client and the simulator use.

Source: ../shared/reference/toky-api.md. Items the reference marks UNCONFIRMED
(and our own assumptions where it says nothing) are flagged here and only here,
so that a correction is a one-line change that the client and the simulator
both pick up.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from contract.ids import TOKY_ID_RULE, is_toky_id

#: A phone in E.164, as a Toky contact's path names it.
_E164 = re.compile(r"\+[1-9]\d{6,14}")

#: Auth header; its name comes from several working third-party clients.
API_KEY_HEADER = "X-Toky-Key"

#: Largest page Toky serves (``limit`` query parameter).
MAX_PAGE_SIZE = 500

# Lists: envelope ``{"count": <rows in this page>, "next": <URL or null>, "results": [...]}``.
PAGE_COUNT_KEY = "count"
PAGE_NEXT_KEY = "next"
PAGE_RESULTS_KEY = "results"

# Date filter on history lists: ``(created_at >= 2017-06-01) AND (created_at <= 2017-06-02)``.
FILTER_PARAM = "filter"
FILTER_FIELD = "created_at"
#: The reference shows only dates in the filter (whether a time is honoured is
#: UNCONFIRMED): only dates are sent (``clients.toky.filters``).
FILTER_DATE_FORMAT = "%Y-%m-%d"
#: How Toky shows times in CDRs: GMT, no zone suffix.
TOKY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Confirmed paths.
AGENTS = "/agents"
CDRS = "/cdrs"
WEBHOOKS = "/webhooks"  # POST confirmed; GET list from third-party code.


def _toky_id(value: object, what: str) -> str:
    """``value`` as one path segment when it is a Toky id (``contract.ids``), else
    ``ValueError``: ``.``, ``..`` or ``a/b`` would address another path."""
    text = str(value).strip()
    if not is_toky_id(text):
        raise ValueError(f"{what} {text[:40]!r} is not a Toky id ({TOKY_ID_RULE})")
    return quote(text, safe="")


def recording_path(callid: str) -> str:
    """GET → the public URL of a call's recording (confirmed path)."""
    return f"/recordings/{_toky_id(callid, 'callid')}"


#: UNCONFIRMED: the key of the URL in the /recordings/{callid} answer. Toky's
#: reference is read as ``url``; other clients also read ``record_url`` (the
#: webhooks' name) and ``recording_url`` (reference/toky-api.md): the first
#: non-empty one of these, in this order, is the URL.
RECORDING_URL_KEYS = ("url", "record_url", "recording_url")
RECORDING_URL_KEY = RECORDING_URL_KEYS[0]

#: UNCONFIRMED: SMS history path.
SMS = "/sms"
#: UNCONFIRMED: voicemail list path.
VOICEMAILS = "/voicemails"
#: UNCONFIRMED: contact list / create path (the capability is confirmed).
CONTACTS = "/contacts"


def contact_path(phone: str) -> str:
    """UNCONFIRMED: GET / PUT one contact by its E.164 phone (``+`` sent as ``%2B``)."""
    if not _E164.fullmatch(str(phone)):
        raise ValueError(f"phone {str(phone)[:40]!r} is not an E.164 number (+ and 7 to 15 digits)")
    return f"{CONTACTS}/{quote(phone, safe='')}"


def webhook_path(hook_id: str | int) -> str:
    """DELETE one webhook (from third-party code, not Toky's docs)."""
    return f"{WEBHOOKS}/{_toky_id(hook_id, 'webhook id')}"


# Webhook registration body (from third-party code) and its answer ``{"id"}``.
WEBHOOK_EVENT_KEY = "event"
WEBHOOK_URL_KEY = "hook_url"
WEBHOOK_ID_KEY = "id"
WEBHOOK_EVENTS = (
    "new_call",
    "inbound_call_answered",
    "inbound_call_ended",
    "outbound_call",
    "outbound_call_ended",
    "new_voicemail",
    "new_sms",
)

#: CDR fields (confirmed); values arrive as strings. ``from`` is "inbound
#: number, agent id or web caller id" (Toky's CDR reference): for an outbound
#: call it is the agent and ``caller_id_used`` is our line; for an inbound call
#: it is the caller and ``received_on_number`` our line.
CDR_FIELDS = (
    "id", "callid", "direction", "from", "to_number", "received_on_number", "caller_id_used",
    "init_dt", "start_time", "end_time", "duration", "agent_id", "disposition_code", "web_call",
)
#: ASSUMPTION: what ``filter=(created_at ...)`` compares on a CDR.
CDR_CREATED_KEY = "init_dt"
#: A CDR's ``agent_id`` (and an outbound ``from``) is the agent's email with
#: ``@`` written as this (``carlos__myagent.com``, Toky's pagination example);
#: webhooks carry plain emails. ``clients.toky.agents`` reads both.
AGENT_ID_AT = "__"

#: Contact fields (confirmed); ``phone`` is unique and is the contact's identity.
CONTACT_FIELDS = ("contact_name", "phone", "email", "city", "country_code")
#: Agent fields (confirmed); ``is_admin`` is a string ("false").
AGENT_FIELDS = (
    "email", "fullname", "phone_number", "timezone", "is_admin", "created_at", "last_update",
    "extra_data",
)

#: UNCONFIRMED (undocumented): SMS row fields, named like the webhook payloads.
SMS_FIELDS = ("id", "direction", "from_number", "to_number", "text", "date", "agent")
SMS_CREATED_KEY = "date"
#: UNCONFIRMED (undocumented): voicemail row fields, named like the webhook payloads.
VOICEMAIL_FIELDS = ("id", "from_number", "to_number", "date", "duration", "record_url", "agent")
VOICEMAIL_CREATED_KEY = "date"
