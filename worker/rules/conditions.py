"""Conditions of a rule's ``when``: checked against the event's fields.

A condition is a mapping, either a test on one field::

    {field: state, equals: missed}          # also: in, contains, matches, exists,
    {field: duration, greater: 300}         #       greater, less
    {field: text, contains: STOP, ignore_case: true}

or a combination: ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``.
``compile_condition`` validates one against a trigger's fields (unknown field,
unknown operator, a value of the wrong type: ``RulesError`` naming the path)
and answers a predicate over a ``Facts`` (the event's data, and the contact's
GHL tags read only when a condition asks for them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from contract.times import parse_timestamp
from worker.rules.errors import RulesError
from worker.rules.triggers import BOOL, CHOICE, LIST, NUMBER, TIME, Field

#: Operators on one field; ``ignore_case`` modifies equals, in, contains.
OPERATORS = ("equals", "in", "contains", "matches", "exists", "greater", "less")
COMBINATORS = ("all", "any", "not")


class Facts:
    """What conditions read: the event's ``data`` fields, and ``contact.tags``
    through ``contact_tags`` (a callable, called at most once, only when asked)."""

    def __init__(self, data: Mapping[str, Any], contact_tags: Callable[[], list[str]]) -> None:
        self._data = data
        self._contact_tags = contact_tags
        self._tags: list[str] | None = None

    def get(self, name: str) -> Any:
        if name == "contact.tags":
            if self._tags is None:
                self._tags = list(self._contact_tags() or [])
            return self._tags
        return self._data.get(name)


Predicate = Callable[[Facts], bool]


def _number(value: Any, path: str, op: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"{path}.{op}", f"expected a number, got {value!r}")
    return value


def _check_scalar(field: Field, value: Any, path: str) -> None:
    """``value`` can equal a value of ``field``, else RulesError."""
    if field.type == NUMBER:
        _number(value, path, "equals")
    elif field.type == BOOL:
        if not isinstance(value, bool):
            raise RulesError(path, f"expected true or false for {field.name}, got {value!r}")
    elif not isinstance(value, str):
        raise RulesError(path, f"expected a string for {field.name}, got {value!r}")
    elif field.type == CHOICE and value not in field.choices:
        raise RulesError(path, f"{field.name} is one of {', '.join(field.choices)}, "
                               f"never {value!r}")


def _fold(value: Any, ignore_case: bool) -> Any:
    return value.casefold() if ignore_case and isinstance(value, str) else value


def _time_s(value: Any) -> float | None:
    try:
        return parse_timestamp(value).timestamp() if isinstance(value, str) else None
    except (ValueError, TypeError):
        return None


def _compare(field: Field, op: str, bound: Any, path: str) -> Predicate:
    if field.type == NUMBER:
        limit = _number(bound, path, op)

        def ordered(facts: Facts) -> bool:
            value = facts.get(field.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            return value > limit if op == "greater" else value < limit
        return ordered
    if field.type == TIME:
        limit_s = _time_s(bound)
        if limit_s is None:
            raise RulesError(f"{path}.{op}", f"expected an ISO 8601 time with a zone, got "
                                             f"{bound!r}")

        def later(facts: Facts) -> bool:
            value = _time_s(facts.get(field.name))
            return value is not None and (value > limit_s if op == "greater" else value < limit_s)
        return later
    raise RulesError(f"{path}.{op}", f"{field.name} is {field.type}: greater/less need a "
                                     "number or time field")


def _field_test(spec: Mapping[str, Any], fields: Mapping[str, Field], path: str) -> Predicate:
    name = spec.get("field")
    if not isinstance(name, str) or name not in fields:
        known = ", ".join(sorted(fields))
        raise RulesError(f"{path}.field", f"unknown field {name!r}; this trigger has: {known}")
    field = fields[name]
    ops = [k for k in spec if k not in ("field", "ignore_case")]
    unknown = [k for k in ops if k not in OPERATORS]
    if unknown:
        raise RulesError(f"{path}.{unknown[0]}", f"unknown operator; use one of "
                                                 f"{', '.join(OPERATORS + COMBINATORS)}")
    if len(ops) != 1:
        raise RulesError(path, f"a test on {name} needs exactly one operator, got "
                               f"{', '.join(ops) or 'none'}")
    op, arg = ops[0], spec[ops[0]]
    fold = bool(spec.get("ignore_case"))
    if not isinstance(spec.get("ignore_case", False), bool):
        raise RulesError(f"{path}.ignore_case", "expected true or false")
    if op == "exists":
        if not isinstance(arg, bool):
            raise RulesError(f"{path}.exists", f"expected true or false, got {arg!r}")
        return lambda facts: (facts.get(name) not in (None, "", [])) is arg
    if op in ("greater", "less"):
        return _compare(field, op, arg, path)
    if op == "matches":
        if not isinstance(arg, str):
            raise RulesError(f"{path}.matches", f"expected a regular expression, got {arg!r}")
        try:
            pattern = re.compile(arg, re.IGNORECASE if fold else 0)
        except re.error as exc:
            raise RulesError(f"{path}.matches", f"not a regular expression: {exc}") from None
        return lambda facts: isinstance(facts.get(name), str) and bool(
            pattern.search(facts.get(name)))
    if op == "contains":
        if field.type == LIST:
            if not isinstance(arg, str):
                raise RulesError(f"{path}.contains", f"expected a string, got {arg!r}")
            return lambda facts: _fold(arg, fold) in [_fold(v, fold)
                                                      for v in facts.get(name) or []]
        if field.type in (NUMBER, BOOL):
            raise RulesError(f"{path}.contains", f"{name} is {field.type}: contains needs a "
                                                 "text or list field")
        if not isinstance(arg, str):
            raise RulesError(f"{path}.contains", f"expected a string, got {arg!r}")
        return lambda facts: isinstance(facts.get(name), str) and (
            _fold(arg, fold) in _fold(facts.get(name), fold))
    values = arg if op == "in" else [arg]
    if op == "in" and (not isinstance(arg, list) or not arg):
        raise RulesError(f"{path}.in", f"expected a non-empty list, got {arg!r}")
    if field.type == LIST:
        raise RulesError(f"{path}.{op}", f"{name} is a list: use contains")
    for i, value in enumerate(values):
        _check_scalar(field, value, f"{path}.{op}" + (f"[{i}]" if op == "in" else ""))
    wanted = [_fold(v, fold) for v in values]
    return lambda facts: _fold(facts.get(name), fold) in wanted


def compile_condition(spec: Any, fields: Mapping[str, Field], path: str) -> Predicate:
    """A predicate for ``spec``, validated against ``fields``; RulesError names ``path``."""
    if not isinstance(spec, Mapping):
        raise RulesError(path, f"expected a condition (a mapping), got {spec!r}")
    combinators = [k for k in COMBINATORS if k in spec]
    if combinators:
        if len(spec) != 1:
            raise RulesError(path, f"{combinators[0]} stands alone in its condition")
        op, arg = combinators[0], spec[combinators[0]]
        if op == "not":
            inner = compile_condition(arg, fields, f"{path}.not")
            return lambda facts: not inner(facts)
        if not isinstance(arg, list) or not arg:
            raise RulesError(f"{path}.{op}", "expected a non-empty list of conditions")
        parts = [compile_condition(c, fields, f"{path}.{op}[{i}]") for i, c in enumerate(arg)]
        if op == "all":
            return lambda facts: all(p(facts) for p in parts)
        return lambda facts: any(p(facts) for p in parts)
    if "field" not in spec:
        first = next(iter(spec), None)
        if first in OPERATORS:
            raise RulesError(path, f"{first} needs a field: {{field: NAME, {first}: VALUE}}")
        raise RulesError(f"{path}.{first}" if first else path,
                         f"unknown operator; use one of {', '.join(OPERATORS + COMBINATORS)}")
    return _field_test(spec, fields, path)
