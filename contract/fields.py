"""marshmallow fields for Toky data, with error messages that read well after a field name.

Each field keeps the value in canonical form: phones E.164, timestamps as the
original (checked) string, numbers as ``int`` when whole, flags as ``bool``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping as MappingABC
from typing import Any

import phonenumbers
from marshmallow import ValidationError, fields

from contract.ids import GHL_ID_RULE, TOKY_ID_RULE, is_ghl_id, is_toky_id
from contract.phones import normalize_phone
from contract.times import parse_timestamp

_BASE_MESSAGES = {"required": "required field is missing", "null": "must not be null"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Longest value quoted back in an error message.
_SHOWN_CHARS = 40


def _shown(value: Any) -> Any:
    """``value`` as an error message quotes it: a long one (400 digits) cut short."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int too long to write out (Python's 4,300-digit limit)
        return "a number of too many digits"
    if len(text) <= _SHOWN_CHARS:
        return value
    return f"{text[:_SHOWN_CHARS]}… ({len(text)} characters)"


class Text(fields.String):
    """A string; with ``non_empty`` (the default) a blank string is refused."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "must be a string",
        "empty": "must not be empty",
    }

    def __init__(self, *, non_empty: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.non_empty = non_empty

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.non_empty and not text.strip():
            raise self.make_error("empty")
        return text


class Choice(Text):
    """One string out of ``choices``."""

    default_error_messages = {"choice": "must be one of {choices}, got {input!r}"}

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise self.make_error("choice", choices=", ".join(self.choices), input=text)
        return text


class Phone(Text):
    """A phone number, loaded as E.164; the sibling ``country_code`` is its region.

    An optional phone given as ``""`` loads as ``None`` (Toky's "no number").
    """

    # (a Text that may load None: the one field whose blank means "not given")
    def _deserialize(  # type: ignore[override]
            self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if not self.required and isinstance(value, str) and not value.strip():
            return None
        text = super()._deserialize(value, attr, data, **kwargs)
        region = data.get("country_code") if isinstance(data, MappingABC) else None
        try:
            return normalize_phone(text, region if isinstance(region, str) else None)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class CountryCode(Text):
    """An ISO 3166 alpha-2 country code, loaded upper-case (``"us"`` → ``"US"``)."""

    default_error_messages = {"country": "unknown country code {input!r}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise self.make_error("country", input=value)
        return code


class Email(Text):
    """An email address, kept as given (the worker trims and lower-cases it).

    With ``non_empty=False`` a blank string is accepted (Toky's "no email").
    """

    default_error_messages = {"email": "not a valid email address {input!r}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text.strip() and not _EMAIL.match(text.strip()):
            raise self.make_error("email", input=text)
        return text


class Timestamp(Text):
    """An ISO 8601 time kept as the original string, without surrounding blanks, once it is
    known to parse (years 1900 to 2999).

    ``require_zone``: a time without a zone offset is refused; otherwise it is
    read as GMT, like Toky's ``"2026-11-02 10:00:00"``.
    """

    def __init__(self, *, require_zone: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.require_zone = require_zone

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_timestamp(text, require_zone=self.require_zone)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text.strip()  # canonical: what every later reader parses as is


class Identifier(Text):
    """An id that ends up in URL paths and keys, loaded without surrounding blanks; refused
    unless ``accepts`` it (``contract.ids``: an explicit character set and length)."""

    default_error_messages = {"id": "not a valid id {input!r}: {rule}"}
    accepts = staticmethod(is_toky_id)
    rule = TOKY_ID_RULE

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not self.accepts(text):
            raise self.make_error("id", input=_shown(text), rule=self.rule)
        return text


class TokyId(Identifier):
    """A Toky id: ``callid``, a voicemail's or SMS's ``id``, ``task_id``, ``note_id``..."""


class GhlId(Identifier):
    """A GHL id (a mirrored contact's ``id``): it is sent in GHL's URL paths."""

    accepts = staticmethod(is_ghl_id)
    rule = GHL_ID_RULE


class NonNegativeNumber(fields.Field[int | float]):
    """A number ≥ 0 and ≤ ``maximum``, also given as a numeric string; whole numbers load
    as ``int``. ``NaN``, infinities and numbers too large for a float are refused."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "must be a number, got {input!r}",
        "negative": "must not be negative, got {input!r}",
        "too_large": "must be at most {maximum}, got {input!r}",
    }

    def __init__(self, *, maximum: int = 10**9, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.make_error("invalid", input=_shown(value))
        try:
            number = float(value)
        except (ValueError, OverflowError):  # OverflowError: an int of 400 digits
            raise self.make_error("invalid", input=_shown(value)) from None
        if not math.isfinite(number):
            raise self.make_error("invalid", input=_shown(value))
        if number < 0:
            raise self.make_error("negative", input=_shown(value))
        if number > self.maximum:
            raise self.make_error("too_large", maximum=self.maximum, input=_shown(value))
        return int(number) if number.is_integer() else number


class Flag(fields.Field[bool]):
    """A boolean: ``true``/``false`` (JSON) or the strings ``"true"``/``"false"``."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be true or false, got {input!r}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise self.make_error("invalid", input=value)


class Tags(fields.List[str]):
    """A list of non-empty strings."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be a list of strings"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text(), **kwargs)


class Mapping(fields.Dict):
    """A JSON object, kept as given."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be an object"}
