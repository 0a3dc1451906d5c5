"""Events: validation against the contract, and the names operators and the worker use.

``validate_event`` is the one gate: producers call it before queueing, the
worker calls it again before applying. An accepted event is a plain ``dict``
(JSON primitives only) in canonical form: phones E.164, ``occurred_at`` the
original string (known to parse, with its zone), unknown fields kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from marshmallow import ValidationError

from contract.event_types import DATA_SCHEMAS, EVENT_SPECS, EVENT_TYPES, Envelope, family_of
from contract.phones import normalize_phone
from contract.quick_load import QuickLoad
from toky_ghl.errors import TokyGhlError

__all__ = [
    "DATA_SCHEMAS",
    "EVENT_TYPES",
    "Event",
    "InvalidEvent",
    "customer_phone",
    "event_id_for",
    "event_label",
    "object_key",
    "validate_event",
]

#: An accepted event: ``{"id", "type", "occurred_at", "data", ...}``.
Event = dict[str, Any]

#: The deepest nesting an event may have (the event object is level 1, ``data`` 2):
#: deeper ones are refused before anything walks them recursively.
MAX_DEPTH = 32
#: Each problem of a refused event is cut to this many characters.
MAX_PROBLEM_CHARS = 300

_ENVELOPE = Envelope()
_DATA = {event_type: schema() for event_type, schema in DATA_SCHEMAS.items()}
#: The same schemas' loads of a valid object, without marshmallow's bookkeeping (an
#: invalid one is loaded again by the schema itself, for its errors).
_QUICK_ENVELOPE = QuickLoad(_ENVELOPE)
_QUICK_DATA = {event_type: QuickLoad(schema) for event_type, schema in _DATA.items()}

#: Per type family: the ``data`` field that identifies its object (from the registry; an
#: event of an unknown type of a known family still gets a key, for its log lines).
_OBJECT_ID_FIELD = {spec.family: spec.id_field for spec in EVENT_SPECS.values()}


class InvalidEvent(TokyGhlError, ValueError):
    """An event that does not match the contract; ``reason`` names the field(s)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _flatten(messages: Any, path: str) -> Iterator[str]:
    """marshmallow's nested error messages as ``"data.tags[1]: must not be empty"`` lines."""
    if isinstance(messages, dict):
        for name, inner in messages.items():
            if isinstance(name, int):
                inner_path = f"{path}[{name}]"
            elif name == "_schema":
                inner_path = path or "event"
            else:
                inner_path = f"{path}.{name}" if path else str(name)
            yield from _flatten(inner, inner_path)
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield f"{path}: {messages}"


def _unsafe_value(obj: Any) -> str | None:
    """Why ``obj`` cannot be an event whatever its fields, naming the path: a value nested
    deeper than ``MAX_DEPTH``, or a number JSON cannot carry (``1e999`` decodes as
    infinity). None when neither. Walks with a stack, not recursion: any depth is safe."""
    stack: list[tuple[Any, str, int]] = [(obj, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path or 'event'}: the number is out of range ({value})"
        if isinstance(value, Mapping):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            continue
        if depth > MAX_DEPTH:
            return f"{path or 'event'}: nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, child_path[:200], depth + 1) for child, child_path in children)
    return None


#: The types of a decoded JSON value that hold no other value (``float``: checked finite).
_JSON_SCALARS = (str, int, bool, type(None))


def _plain_json(value: dict[str, Any] | list[Any], depth: int) -> bool:
    """Whether ``value`` (at nesting ``depth``) is surely safe for ``_unsafe_value``: only
    dicts, lists and JSON scalars, finite numbers, no deeper than ``MAX_DEPTH``. Without
    building each value's path, which only a refused event needs. False also for anything
    unusual (a tuple, a Mapping that is no dict, a subclass): then ``_unsafe_value``
    decides."""
    if depth > MAX_DEPTH:
        return False
    children: Iterable[Any] = value.values() if isinstance(value, dict) else value
    for child in children:
        kind = type(child)
        if kind in _JSON_SCALARS:
            continue
        if kind is float:
            if not math.isfinite(child):
                return False
        elif kind is dict or kind is list:
            if not _plain_json(child, depth + 1):
                return False
        else:
            return False
    return True


def _cut(problem: str) -> str:
    if len(problem) <= MAX_PROBLEM_CHARS:
        return problem
    return f"{problem[:MAX_PROBLEM_CHARS]}… ({len(problem)} characters)"


def validate_event(obj: Any) -> Event:
    """The event ``obj`` (a decoded JSON object) accepted in canonical form.

    Raises ``InvalidEvent`` whose reason names every bad field, e.g.
    ``"data.phone: not a valid phone number '(415) 555-01' for region US"``.
    """
    if not isinstance(obj, Mapping):
        raise InvalidEvent(f"event: must be a JSON object, got {type(obj).__name__}")
    if type(obj) is not dict or not _plain_json(obj, 1):
        unsafe = _unsafe_value(obj)
        if unsafe:
            raise InvalidEvent(unsafe)
    event = _quick_event(obj)
    return event if event is not None else _loaded_event(obj)


def _quick_event(obj: Mapping[str, Any]) -> Event | None:
    """The event ``obj`` accepted, or None when it has a problem (``_loaded_event`` then
    names it)."""
    envelope = _QUICK_ENVELOPE(obj)
    event_type = obj.get("type")
    quick_data = _QUICK_DATA.get(event_type) if isinstance(event_type, str) else None
    if envelope is None or quick_data is None:
        return None
    data = quick_data(obj["data"])
    return None if data is None else _event(envelope, data)


def _loaded_event(obj: Mapping[str, Any]) -> Event:
    """The event ``obj`` accepted by the schemas' own loads; or ``InvalidEvent`` naming
    every bad field."""
    problems: list[str] = []
    try:
        envelope = _ENVELOPE.load(obj)
    except ValidationError as exc:
        problems.extend(_flatten(exc.messages, ""))
        envelope = None
    event_type = obj.get("type")
    data_schema = _DATA.get(event_type) if isinstance(event_type, str) else None
    data = obj.get("data")
    if data_schema is not None and isinstance(data, Mapping):
        try:
            data = data_schema.load(data)
        except ValidationError as exc:
            problems.extend(_flatten(exc.messages, "data"))
    if problems or envelope is None:
        raise InvalidEvent("; ".join(_cut(p) for p in problems))
    return _event(envelope, data)


def _event(envelope: dict[str, Any], data: Any) -> Event:
    """The accepted event: the envelope's fields first, ``data`` loaded by its schema."""
    event: Event = {
        "id": envelope["id"],
        "type": envelope["type"],
        "occurred_at": envelope["occurred_at"],
        "data": data,
    }
    event.update((k, v) for k, v in envelope.items() if k not in event)
    return event


def object_key(event: Mapping[str, Any]) -> str:
    """The Toky object an accepted event is about: ``"call:<callid>"``, ``"contact:+1…"``
    (a mirrored GHL contact: ``"ghl.contact:<GHL contact id>"``).

    The worker keeps the applied version per object key ("latest wins").
    """
    family = family_of(event["type"])
    return f"{family}:{event['data'][_OBJECT_ID_FIELD[family]]}"


def customer_phone(event: Mapping[str, Any]) -> str | None:
    """The customer's phone (whose contact an event is about, not our own line): an
    inbound call's or a voicemail's ``from_number``, an outbound call's ``to_number``,
    a received sms's sender, a sent sms's recipient, else ``data.phone``. None when the
    event does not give it."""
    return EVENT_SPECS[event["type"]].customer(event["data"])


def event_label(event: Mapping[str, Any]) -> str:
    """A short, PII-free label for operators (Flower shows it): ``"call.ended
    call:8c1e5d02… evt=s-004"``.

    Long object ids are cut to 8 characters; a contact's phone shows only its last 4
    digits, in the object key and in the event id (``contact-+14155550134-3`` →
    ``contact-…0134-3``); a long event id is cut too.
    """
    kind, _, object_id = object_key(event).partition(":")
    if kind == "contact":
        short = "…" + object_id[-4:]
    elif len(object_id) > 12:
        short = object_id[:8] + "…"
    else:
        short = object_id
    return f"{event['type']} {kind}:{short} evt={_short_event_id(str(event['id']))}"


#: An E.164 phone number in an event id (``contact-+14155550134-<version>``).
_PHONE_IN_ID = re.compile(r"\+\d{7,15}")


def _short_event_id(event_id: str) -> str:
    """``event_id`` without full phone numbers (last 4 digits kept), at most 40 characters."""
    shown = (_PHONE_IN_ID.sub(lambda m: "…" + m.group()[-4:], event_id) if "+" in event_id
             else event_id)  # (no "+", no phone: the usual id costs no regex pass)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def event_id_for(kind: str, *parts: object, region: str | None = None) -> str:
    """The event id every producer derives from Toky's own id (contract, section 4).

    ``event_id_for("call", callid)`` → ``"call-<callid>"``; likewise ``"voicemail"``
    and ``"sms"`` with Toky's id; ``event_id_for("contact", phone, version)`` →
    ``"contact-+14155550134-<version>"`` (the phone normalised to E.164, with
    ``region`` for a number written without its country prefix);
    ``event_id_for("ghl-contact", ghl_id, date_updated_ms)`` →
    ``"ghl-contact-<id>-<ms>"`` (the mirror: one event per GHL contact version).
    """
    arity = {"call": 1, "voicemail": 1, "sms": 1, "contact": 2, "ghl-contact": 2}
    if kind not in arity:
        raise ValueError(f"unknown event id kind {kind!r}; known: {', '.join(arity)}")
    if len(parts) != arity[kind] or any(p is None or str(p).strip() == "" for p in parts):
        raise ValueError(f"event id of kind {kind!r} needs {arity[kind]} non-empty part(s)")
    if kind == "contact":
        parts = (normalize_phone(str(parts[0]), region), parts[1])
    return "-".join((kind, *(str(p) for p in parts)))
