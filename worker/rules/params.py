"""Typed parameters of actions: declared once, validated at load, resolved per event.

Types (as the catalogue names them):

- ``text``: a string, may be a template (``"Call back {{ data.from_number }}"``);
- ``text list``: a list of such strings (a single string is a list of one);
- ``text map``: a mapping of names to such strings (GHL fields, custom fields);
- ``duration``: ``90s``, ``15m``, ``2h``, ``1d`` (a number alone is minutes);
- ``number``, ``bool``; ``choice`` (one of the listed values);
- ``GHL id``: a workflow, campaign, pipeline or stage id (letters, digits, ``-``,
  ``_``; checked at load, or for a template when it renders);
- ``user``: a GHL user id, or a Toky agent's email mapped by the field map's
  agents (a template such as ``"{{ data.agent }}"`` is resolved per event);
- ``object key``: the name a rule gives a task, note or appointment it creates
  (``"callback-{{ data.from_number }}"``), by which later actions update, complete,
  delete or cancel it (printable text, no ``]``, at most 200 characters; checked at
  load, or for a template when it renders).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from contract.ids import GHL_ID_RULE, is_ghl_id
from worker.rules.errors import RulesError
from worker.rules.templates import compile_template, is_template
from worker.sync.outcome import Unprocessable

TEXT, TEXT_LIST, TEXT_MAP, DURATION, NUMBER, BOOL, CHOICE, USER, GHL_ID, KEY = (
    "text", "text list", "text map", "duration", "number", "bool", "choice", "user", "GHL id",
    "object key")
#: Longest object key a rule may give (it is part of a Redis key and of a GHL marker).
MAX_KEY_CHARS = 200
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: Resolves a parameter for one event: (template variables) → value.
Resolver = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Param:
    """One parameter: its name, type, whether required, default, and what it does."""

    name: str
    type: str
    help: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        kind = f"one of {', '.join(self.choices)}" if self.type == CHOICE else self.type
        extra = "required" if self.required else (
            f"default {self.default!r}" if self.default is not None else "optional")
        return f"{kind}, {extra}"


def parse_duration(value: Any, path: str) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(minutes=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise RulesError(path, f"expected a duration like 90m, got {value!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])


def _text(value: Any, fields: list[str], path: str) -> Resolver:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RulesError(path, f"expected text, got {value!r}")
    if is_template(value):
        template = compile_template(value, fields, path)
        return template.render
    return lambda _variables: str(value)


def _ghl_id(value: Any, fields: list[str], path: str) -> Resolver:
    text = _text(value, fields, path)
    if not is_template(value):
        if not is_ghl_id(str(value).strip()):
            raise RulesError(path, f"expected a GHL id ({GHL_ID_RULE}), got {value!r}")
        return text

    def checked(variables: Mapping[str, Any]) -> str:
        rendered = text(variables).strip()
        if not is_ghl_id(rendered):
            shown = rendered if len(rendered) <= 40 else rendered[:40] + "…"
            raise Unprocessable(f"{path.rsplit('.', 1)[-1]} rendered {shown!r}, not a GHL id "
                                f"({GHL_ID_RULE})")
        return cast(str, rendered)
    return checked


def key_problem(key: str) -> str | None:
    """Why ``key`` (stripped) cannot name a rule's object, or None when it can."""
    if not key:
        return "is empty"
    if len(key) > MAX_KEY_CHARS:
        return f"is longer than {MAX_KEY_CHARS} characters"
    if "]" in key or not key.isprintable():
        return "has ']' or a character that is not printable"
    return None


def _key(value: Any, fields: list[str], path: str) -> Resolver:
    text = _text(value, fields, path)
    if not is_template(value):
        problem = key_problem(str(value).strip())
        if problem:
            raise RulesError(path, f"expected an object key (printable text without ']'), "
                                   f"got {value!r}: it {problem}")
        return lambda variables: str(text(variables)).strip()

    def checked(variables: Mapping[str, Any]) -> str:
        rendered = str(text(variables)).strip()
        problem = key_problem(rendered)
        if problem:
            shown = rendered if len(rendered) <= 40 else rendered[:40] + "…"
            raise Unprocessable(f"{path.rsplit('.', 1)[-1]} rendered {shown!r}, which {problem}")
        return rendered
    return checked


def compile_param(param: Param, value: Any, fields: list[str], path: str) -> Resolver:
    """A resolver for ``value`` of ``param``; RulesError naming ``path`` when it cannot be."""
    if param.type in (TEXT, USER):
        return _text(value, fields, path)
    if param.type == GHL_ID:
        return _ghl_id(value, fields, path)
    if param.type == KEY:
        return _key(value, fields, path)
    if param.type == TEXT_LIST:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise RulesError(path, f"expected a list of text, got {value!r}")
        parts = [_text(v, fields, f"{path}[{i}]") for i, v in enumerate(items)]
        return lambda variables: [t for t in (p(variables).strip() for p in parts) if t]
    if param.type == TEXT_MAP:
        if not isinstance(value, Mapping) or not value:
            raise RulesError(path, f"expected a mapping of names to text, got {value!r}")
        parts_map = {str(k): _text(v, fields, f"{path}.{k}") for k, v in value.items()}
        return lambda variables: {k: p(variables) for k, p in parts_map.items()}
    if param.type == DURATION:
        duration = parse_duration(value, path)
        return lambda _variables: duration
    if param.type == NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RulesError(path, f"expected a number, got {value!r}")
        return lambda _variables: value
    if param.type == BOOL:
        if not isinstance(value, bool):
            raise RulesError(path, f"expected true or false, got {value!r}")
        return lambda _variables: value
    if param.type == CHOICE:
        if value not in param.choices:
            raise RulesError(path, f"expected one of {', '.join(param.choices)}, got {value!r}")
        return lambda _variables: value
    raise AssertionError(f"unknown parameter type {param.type}")
