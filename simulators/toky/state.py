"""The Toky simulator's in-memory account: agents, calls, SMS, voicemails, contacts, webhooks.

Thread-safe (one lock); every read returns copies. Rows hold Toky's field names
(from ``clients.toky.paths``) with string values, as Toky sends them.
Times are GMT strings like "2017-07-05 21:46:44".

Sources (reference/toky-api.md): CDR fields and their string values, ``from`` as
"inbound number, agent id or web caller id" and agent ids written
``name__domain`` (Toky's CDR and pagination references); agent fields
(``is_admin`` a string); contacts unique by phone (the phone directory);
webhook events (Toky's webhook reference). Where sources disagree or say
nothing, ``configure`` picks the form served (recording key, filter times).
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from clients.toky import paths
from simulators.toky.faults import Fault, Faults

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
Moment = datetime | str | None


class SimError(Exception):
    """A request the simulator refuses: ``status`` and a message for ``{"error": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: How a CDR writes its agent: Toky's id form (``@`` as ``__``) or a plain email.
AGENT_FORMS = ("toky", "email")
#: Keys Toky's /recordings/{callid} answer may carry its URL under: the
#: reference is read as ``url``; other clients read ``record_url`` and
#: ``recording_url`` (reference/toky-api.md, UNCONFIRMED). The simulator serves
#: the one in ``TokySim.recording_key``.
RECORDING_KEYS = paths.RECORDING_URL_KEYS
#: How the ``filter`` treats a time in a bound (Toky documents dates only;
#: whether it honours a time is UNCONFIRMED): ``honour`` it, ``ignore`` it
#: (the bound is the day), or ``reject`` it with 400.
FILTER_TIME_MODES = ("honour", "ignore", "reject")


def toky_agent_id(email: str) -> str:
    """An agent's email as Toky's REST answers write it: ``carlos__acme.com``
    (Toky's pagination example writes ``@`` as ``__``)."""
    return email.replace("@", paths.AGENT_ID_AT)


def toky_time(moment: datetime) -> str:
    """``moment`` in GMT as Toky writes it (a naive datetime is taken as GMT)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(paths.TOKY_TIME_FORMAT)


class TokySim:
    """One Toky account in memory; ``clock`` returns the current time (aware, UTC)."""

    def __init__(self, *, api_key: str = "toky-sim-key",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.api_key = api_key
        self._clock = clock
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every record, webhook, fault and request count (the key stays)."""
        with self._lock:
            self._ids = itertools.count(1)
            self._rows: dict[str, list[dict[str, Any]]] = {"agents": [], "cdrs": [], "sms": [],
                                                 "voicemails": []}
            self._contacts: dict[str, dict[str, Any]] = {}
            self._webhooks: dict[str, dict[str, Any]] = {}
            self._recordings: dict[str, str] = {}
            self.recording_key: str = RECORDING_KEYS[0]
            self.filter_times: str = "honour"
            self.faults = Faults()
            self._requests: Counter[str] = Counter()
            self._by_method: Counter[str] = Counter()

    def _time(self, moment: Moment) -> str:
        """``moment`` (None: now) as a Toky time string; a string must already be one."""
        if moment is None:
            return toky_time(self._clock())
        if isinstance(moment, datetime):
            return toky_time(moment)
        try:
            return toky_time(datetime.strptime(moment, paths.TOKY_TIME_FORMAT))
        except (TypeError, ValueError):
            message = f"time must look like 2017-07-05 21:46:44, got {moment!r}"
            raise SimError(400, message) from None

    def _add(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._rows[kind].append(row)
            return copy.deepcopy(row)

    # -- records (test and demo helpers) ------------------------------------

    def add_agent(self, *, email: str, fullname: str = "", phone_number: str = "",
                  timezone: str = "America/Chicago", is_admin: bool = False,
                  created_at: Moment = None) -> dict[str, Any]:
        created = self._time(created_at)
        return self._add("agents", {
            "email": email, "fullname": fullname, "phone_number": phone_number,
            "timezone": timezone, "is_admin": "true" if is_admin else "false",
            "created_at": created, "last_update": created, "extra_data": {},
        })

    def add_call(self, *, from_number: str, to_number: str, direction: str = "inbound",
                 disposition_code: int | str = 200, duration_s: int | None = None,
                 agent: str = "", init_dt: Moment = None, ring_s: int = 5,
                 received_on_number: str | None = None, callid: str | None = None,
                 web_call: bool = False, recording_url: str | None = None,
                 agent_form: str = "toky", web_caller_id: str | None = None) -> dict[str, Any]:
        """A CDR, as Toky's CDR reference describes one.

        ``from_number`` is the CALLER in the contract's (webhook) sense: for an
        inbound call the customer, for an outbound call our Toky line. The row
        follows Toky's reference: ``from`` is "inbound number, agent id or web
        caller id", so an outbound row has the agent in ``from`` and our line in
        ``caller_id_used``; an inbound row has the caller in ``from`` and our
        line in ``received_on_number``. A web call (``web_call``) with an empty
        ``from_number`` has a web caller id in ``from`` (``web_caller_id``).

        ``agent`` is the agent's email; ``agent_form`` says how the row writes it
        in ``agent_id`` (and an outbound ``from``): ``"toky"`` as Toky's
        pagination example does (``@`` as ``__``: ``carlos__acme.com``),
        ``"email"`` as a plain email (the webhooks' form).

        Answered (200): ``start_time`` = ``init_dt`` + ``ring_s``, ``duration_s``
        default 60. Otherwise ``start_time`` is "" and the duration "0".
        """
        if direction not in ("inbound", "outbound"):
            raise SimError(400, f"direction must be inbound or outbound, got {direction!r}")
        if agent_form not in AGENT_FORMS:
            raise SimError(400, f"agent_form must be one of {', '.join(AGENT_FORMS)}, "
                                f"got {agent_form!r}")
        init = datetime.strptime(self._time(init_dt), paths.TOKY_TIME_FORMAT)  # naive GMT
        answered = str(disposition_code) == "200"
        duration = (60 if duration_s is None else duration_s) if answered else 0
        start = init + timedelta(seconds=ring_s)
        agent_id = toky_agent_id(agent) if agent_form == "toky" else agent
        callid = callid or str(uuid.uuid4())
        if direction == "outbound":
            caller, caller_id_used = agent_id, from_number
            received = received_on_number if received_on_number is not None else ""
        else:
            caller, caller_id_used = from_number, ""
            received = received_on_number if received_on_number is not None else to_number
        if web_call and not caller:
            caller = web_caller_id or f"webcaller_{callid[:8]}"
        row = {
            "id": str(next(self._ids)), "callid": callid,
            "direction": direction, "from": caller, "to_number": to_number,
            "received_on_number": received, "caller_id_used": caller_id_used,
            "init_dt": toky_time(init), "start_time": toky_time(start) if answered else "",
            "end_time": toky_time(start + timedelta(seconds=duration)),
            "duration": str(duration), "agent_id": agent_id,
            "disposition_code": str(disposition_code), "web_call": "yes" if web_call else "no",
        }
        with self._lock:
            if recording_url:
                self._recordings[row["callid"]] = recording_url
            return self._add("cdrs", row)

    def add_sms(self, *, from_number: str, to_number: str, text: str,
                direction: str = "inbound", agent: str = "", date: Moment = None) -> dict[str, Any]:
        return self._add("sms", {
            "id": str(next(self._ids)), "direction": direction, "from_number": from_number,
            "to_number": to_number, "text": text, "date": self._time(date), "agent": agent,
        })

    def add_voicemail(self, *, from_number: str, to_number: str, duration_s: int = 20,
                      record_url: str = "", agent: str = "", date: Moment = None) -> dict[str, Any]:
        return self._add("voicemails", {
            "id": str(next(self._ids)), "from_number": from_number, "to_number": to_number,
            "date": self._time(date), "duration": str(duration_s), "record_url": record_url,
            "agent": agent,
        })

    def add_contact(self, *, phone: str, contact_name: str = "", email: str = "",
                    city: str = "", country_code: str = "") -> dict[str, Any]:
        """A directory contact; SimError 409 if the phone is taken, 400 if not E.164."""
        if not E164.match(phone or ""):
            raise SimError(400, f"phone must be E.164 (+15125550101), got {phone!r}")
        contact = {"contact_name": contact_name, "phone": phone, "email": email,
                   "city": city, "country_code": country_code}
        with self._lock:
            if phone in self._contacts:
                raise SimError(409, f"a contact with phone {phone} already exists")
            self._contacts[phone] = contact
            return dict(contact)

    def update_contact(self, phone: str, **changes: str) -> dict[str, Any]:
        """Change a contact's fields; SimError 404 if none, 400 on an unknown or identity field."""
        unknown = sorted(set(changes) - set(paths.CONTACT_FIELDS))
        if unknown:
            raise SimError(400, f"unknown contact field(s): {', '.join(unknown)}")
        if changes.get("phone", phone) != phone:
            raise SimError(400, "phone is the contact's identity and cannot change")
        with self._lock:
            if phone not in self._contacts:
                raise SimError(404, f"no contact with phone {phone}")
            self._contacts[phone].update(changes)
            return dict(self._contacts[phone])

    # -- reads ---------------------------------------------------------------

    def rows(self, kind: str, created_key: str | None = None) -> list[dict[str, Any]]:
        """Copies of ``kind`` (agents, cdrs, sms, voicemails), newest first.

        Newest by ``created_key`` (default: insertion order), ties broken by insertion.
        """
        with self._lock:
            rows = copy.deepcopy(self._rows[kind])
        ordered = list(enumerate(rows))
        ordered.sort(key=lambda pair: (pair[1][created_key] if created_key else "", pair[0]),
                     reverse=True)
        return [row for _, row in ordered]

    def contacts(self) -> list[dict[str, Any]]:
        """Copies of every contact, newest first."""
        with self._lock:
            return [dict(c) for c in reversed(self._contacts.values())]

    def contact(self, phone: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._contacts.get(phone)
            return dict(found) if found else None

    def recording_url(self, callid: str) -> str | None:
        with self._lock:
            return self._recordings.get(callid)

    # -- webhooks --------------------------------------------------------------

    def add_webhook(self, event: str, hook_url: str) -> dict[str, Any]:
        if event not in paths.WEBHOOK_EVENTS:
            known = ", ".join(paths.WEBHOOK_EVENTS)
            raise SimError(400, f"unknown event {event!r}; known: {known}")
        if not str(hook_url).startswith(("http://", "https://")):
            raise SimError(400, f"hook_url must be an http(s) URL, got {hook_url!r}")
        with self._lock:
            hook = {paths.WEBHOOK_ID_KEY: str(next(self._ids)), paths.WEBHOOK_EVENT_KEY: event,
                    paths.WEBHOOK_URL_KEY: hook_url}
            self._webhooks[hook["id"]] = hook
            return dict(hook)

    def webhooks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(h) for h in reversed(self._webhooks.values())]

    def delete_webhook(self, hook_id: str) -> None:
        with self._lock:
            if self._webhooks.pop(str(hook_id), None) is None:
                raise SimError(404, f"no webhook with id {hook_id}")

    # -- switches (where sources disagree, each documented form) -------------------

    def configure(self, *, recording_key: str | None = None,
                  filter_times: str | None = None) -> dict[str, Any]:
        """Choose the form served: the recording answer's URL key (``RECORDING_KEYS``)
        and how the date ``filter`` treats a time (``FILTER_TIME_MODES``)."""
        if recording_key is not None and recording_key not in RECORDING_KEYS:
            raise SimError(400, f"recording_key must be one of {', '.join(RECORDING_KEYS)}, "
                                f"got {recording_key!r}")
        if filter_times is not None and filter_times not in FILTER_TIME_MODES:
            raise SimError(400, f"filter_times must be one of {', '.join(FILTER_TIME_MODES)}, "
                                f"got {filter_times!r}")
        with self._lock:
            if recording_key is not None:
                self.recording_key = recording_key
            if filter_times is not None:
                self.filter_times = filter_times
            return {"recording_key": self.recording_key, "filter_times": self.filter_times}

    # -- faults and statistics ---------------------------------------------------

    def fail_next(self, path: str, status: int, *, times: int = 1,
                  retry_after_s: float | None = None) -> None:
        """Answer the next ``times`` requests of API ``path`` (e.g. "/cdrs") with ``status``."""
        with self._lock:
            self.faults.arm(Fault(path, status, times, retry_after_s))

    def count_request(self, path: str, method: str = "GET") -> None:
        with self._lock:
            self._requests[path] += 1
            self._by_method[f"{method.upper()} {path}"] += 1

    def stats(self) -> dict[str, Any]:
        """Requests served per path (as requested, e.g. "/v1/cdrs"), and per
        ``"METHOD path"`` (``"PUT /v1/contacts/+15125550101"``)."""
        with self._lock:
            return {"requests": dict(self._requests), "by_method": dict(self._by_method)}

    def writes(self, path_prefix: str = "") -> int:
        """API writes (POST, PUT, DELETE) served, on paths that contain ``path_prefix``."""
        with self._lock:
            return sum(n for key, n in self._by_method.items()
                       if key.split(" ", 1)[0] in ("POST", "PUT", "DELETE")
                       and path_prefix in key.split(" ", 1)[1])

    def snapshot(self) -> dict[str, Any]:
        """Everything the simulator holds, for /_sim/state."""
        with self._lock:
            return {
                "agents": self.rows("agents", "created_at"),
                "cdrs": self.rows("cdrs", paths.CDR_CREATED_KEY),
                "sms": self.rows("sms", paths.SMS_CREATED_KEY),
                "voicemails": self.rows("voicemails", paths.VOICEMAIL_CREATED_KEY),
                "contacts": self.contacts(),
                "webhooks": self.webhooks(),
                "recordings": dict(self._recordings),
            }
