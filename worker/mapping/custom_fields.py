"""Custom field values typed as the field map says: text → str, number → int/float, list → [str]."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from worker.fieldmap import CustomField, FieldMap, lookup


def typed_value(kind: str, value: Any) -> str | int | float | list[str]:
    """``value`` as GHL takes it for a custom field of type ``kind``; ValueError if it can't be."""
    if kind == "text":
        return value if isinstance(value, str) else _scalar_text(value)
    if kind == "number":
        return _number(value)
    if isinstance(value, list):
        return [_scalar_text(item) for item in value]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [_scalar_text(value)]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"expected a text value, got {value!r}")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return int(number) if number.is_integer() else number


def _entry(field: CustomField, value: Any, field_map: FieldMap) -> dict[str, Any]:
    """``{"id", "field_value"}``. Every typed custom-field schema of GHL's spec
    (apps/contacts.json) requires ``id``: a ``ghl_key`` goes out as the id it was
    resolved to when the worker started (``worker.custom_field_ids``)."""
    ghl_id = field_map.custom_field_id(field)
    if not ghl_id:
        raise ValueError(f"the key {field.ghl_key!r} was not resolved to a GHL custom field id")
    return {"id": ghl_id, "field_value": typed_value(field.type, value)}


def custom_field_values(data: Mapping[str, Any], field_map: FieldMap) -> list[dict[str, Any]]:
    """GHL's ``customFields`` for a Toky object: ``[{"id": ..., "field_value": ...}]``.

    A Toky field that is absent or null is left out. Raises marshmallow's
    ``ValidationError`` naming the Toky field when a value cannot take its type.
    """
    entries: list[dict[str, Any]] = []
    for field in field_map.custom_fields:
        value = lookup(data, field.toky_field)
        if value is None:
            continue
        try:
            entries.append(_entry(field, value, field_map))
        except ValueError as exc:
            raise ValidationError({field.toky_field: [f"custom field {field.type}: {exc}"]}) \
                from None
    return entries
