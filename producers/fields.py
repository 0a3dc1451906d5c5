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

from producers.phones import normalize_phone
from producers.times import parse_timestamp

_BASE_MESSAGES = {"required": "required field is missing", "null": "must not be null"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
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
    """An ISO 8601 time kept as the original string once it is known to parse.

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
        return text


class NonNegativeNumber(fields.Field):
    """A number ≥ 0, also given as a numeric string; whole numbers load as ``int``."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "must be a number, got {input!r}",
        "negative": "must not be negative, got {input!r}",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.make_error("invalid", input=value)
        try:
            number = float(value)
        except ValueError:
            raise self.make_error("invalid", input=value) from None
        if not math.isfinite(number):
            raise self.make_error("invalid", input=value)
        if number < 0:
            raise self.make_error("negative", input=value)
        return int(number) if number.is_integer() else number


class Flag(fields.Field):
    """A boolean: ``true``/``false`` (JSON) or the strings ``"true"``/``"false"``."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be true or false, got {input!r}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise self.make_error("invalid", input=value)


class Tags(fields.List):
    """A list of non-empty strings."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be a list of strings"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text(), **kwargs)


class Mapping(fields.Dict):
    """A JSON object, kept as given."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "must be an object"}
