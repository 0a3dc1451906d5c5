"""``Schema.load`` of a valid object without marshmallow's bookkeeping: the same answer.

``Schema.load`` wraps each field in an error store, a closure and the partial-loading and
hook machinery: about half of validating an event (issue 12's profile). ``QuickLoad``
calls the same fields' ``deserialize``, in the same order, with the same arguments, and
answers what ``load`` answers for an object it accepts. At the first problem it answers
None: the caller then runs ``load`` itself, so what is accepted, its canonical form and
every error message (naming every bad field) stay marshmallow's own.

Only for a schema ``load`` would treat the same way (``QuickLoad.fits``): no hooks
(``pre_load``, ``post_load``, ``validates``, ``validates_schema``), unknown fields
included or excluded, no ``data_key``/``attribute``, one object at a time. For any other
``QuickLoad`` always answers None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.fields import Field


def _plain(field: Field[Any]) -> bool:
    """Whether ``field.deserialize`` of a value is ``Field.deserialize`` with nothing
    around ``_deserialize`` and the validators (no pre/post load callables)."""
    kind = type(field)
    return (kind.deserialize is Field.deserialize
            and kind._validate_missing is Field._validate_missing
            and not field.pre_load and not field.post_load)


class QuickLoad:
    """``schema.load`` for the objects it accepts (``__call__``; None: ask ``load``)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.fields: tuple[tuple[str, Field[Any], bool], ...] = tuple(
            (name, field, _plain(field)) for name, field in schema.load_fields.items())
        self.names = frozenset(schema.load_fields)
        self.include_unknown = schema.unknown == INCLUDE
        self.enabled = self.fits(schema)

    @staticmethod
    def fits(schema: Schema) -> bool:
        """Whether ``load`` of ``schema`` is its fields' ``deserialize`` and nothing more."""
        hooks = any(schema._hooks[tag] for tag in (PRE_LOAD, POST_LOAD, VALIDATES,
                                                   VALIDATES_SCHEMA))
        renamed = any(f.data_key is not None or f.attribute is not None or "." in name
                      for name, f in schema.load_fields.items())
        return (not hooks and not renamed and not schema.many and not schema.partial
                and schema.unknown in (INCLUDE, EXCLUDE))

    def __call__(self, data: Any) -> dict[str, Any] | None:
        """What ``schema.load(data)`` answers, or None when ``data`` has a problem (or the
        schema does not fit): then ``load`` says which."""
        if not self.enabled or not isinstance(data, Mapping):
            return None
        loaded: dict[str, Any] = {}
        for name, field, plain in self.fields:
            raw = data.get(name, missing)
            if raw is missing:
                if field.required:
                    return None
                if field.load_default is missing:
                    continue
                plain = False  # its default: ``deserialize`` gives it
            elif raw is None and plain:
                if not field.allow_none:
                    return None
                loaded[name] = None
                continue
            try:
                if plain:  # ``Field.deserialize`` of a present, non-null value
                    value = field._deserialize(raw, name, data)
                    if field.validators:
                        field._validate(value)
                else:
                    value = field.deserialize(raw, name, data)
            except ValidationError:
                return None
            if value is not missing:
                loaded[name] = value
        if self.include_unknown:
            loaded.update((k, v) for k, v in data.items() if k not in self.names)
        return loaded
