"""marshmallow fields that turn Toky values into the values GHL takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields

from contract.times import parse_timestamp


def parse_time(raw: str) -> datetime:
    """An aware ``datetime`` from ISO 8601 or Toky's ``"2026-11-02 10:00:00"`` (GMT)."""
    return parse_timestamp(raw)


def ghl_utc_seconds(moment: datetime) -> str:
    """``moment`` as GHL's task ``dueDate``: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CleanText(fields.Field[str | None]):
    """A string (numbers are written out), trimmed; blank loads as None (not set)."""

    default_error_messages = {"invalid": "must be a string, got {input!r}"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid", input=value)
        text = str(value).strip()
        return text or None


class UtcSeconds(fields.Field[str]):
    """A Toky time loaded as GHL's ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, no milliseconds)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            return ghl_utc_seconds(parse_time(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class IsoWithOffset(fields.Field[str]):
    """A Toky time loaded as ISO 8601 with its zone offset (GMT when it had none)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            return parse_time(value).isoformat()
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
