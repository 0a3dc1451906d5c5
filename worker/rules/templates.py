"""Templates in action parameters: Jinja2's sandbox, never ``eval`` or ``str.format``.

A parameter string holding ``{{`` or ``{%`` is a template. It may read:

- ``data.<field>``: a field of the event's ``data`` (the trigger's fields);
- ``event.id``, ``event.type``, ``event.occurred_at``;
- ``rule``: the rule's name.

``compile_template`` validates a template once, at load time: a syntax error,
an unknown variable or an unknown ``data`` field is a ``RulesError`` naming the
parameter. Rendering runs in ``jinja2.sandbox.ImmutableSandboxedEnvironment``
(no attribute access to internals, no mutation), autoescape off (GHL bodies
are plain text), an unset optional field renders as empty text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from worker.rules.errors import RulesError
from worker.sync.outcome import Unprocessable

VARIABLES = ("data", "event", "rule")
EVENT_FIELDS = ("id", "type", "occurred_at")
#: Longest text a template may render to (a GHL note body is far below this).
MAX_RENDERED_CHARS = 50_000

_ENV = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def is_template(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def _attribute_reads(tree: nodes.Node, variable: str) -> Iterable[str]:
    """The attribute names read from ``variable`` (``data.x`` and ``data['x']``)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node, nodes.Getattr | nodes.Getitem):  # (for mypy: always one)
            continue
        target = node.node
        if isinstance(target, nodes.Name) and target.name == variable:
            if isinstance(node, nodes.Getattr):
                yield node.attr
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                yield node.arg.value


@dataclass(frozen=True)
class Template:
    """A validated template; ``render`` answers the text for one event."""

    source: str

    def render(self, variables: Mapping[str, Any]) -> str:
        try:
            text = _ENV.from_string(self.source).render(**variables)
        except SecurityError as exc:  # validated, but the sandbox has the last word
            raise Unprocessable(f"template refused by the sandbox: {exc}") from None
        return text[:MAX_RENDERED_CHARS]


def compile_template(source: str, fields: Iterable[str], path: str) -> Template:
    """``source`` checked against the variables a rule on a trigger with ``fields`` has."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise RulesError(path, f"template syntax error: {exc.message}") from None
    known = set(fields)
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            raise RulesError(path, f"a template may not read {node.attr!r} (private attribute)")
    for name_node in tree.find_all(nodes.Name):
        if (name_node.ctx == "load" and name_node.name not in VARIABLES
                and not _assigned(tree, name_node.name)):
            raise RulesError(path, f"unknown template variable {name_node.name!r}; use "
                                   f"{', '.join(VARIABLES)}")
    for name in _attribute_reads(tree, "data"):
        if name not in known:
            raise RulesError(path, f"unknown template variable data.{name}; this trigger has "
                                   f"{', '.join(sorted(known))}")
    for name in _attribute_reads(tree, "event"):
        if name not in EVENT_FIELDS:
            raise RulesError(path, f"unknown template variable event.{name}; use "
                                   f"{', '.join(EVENT_FIELDS)}")
    return Template(source)


def _assigned(tree: nodes.Node, name: str) -> bool:
    """True when the template itself sets ``name`` (``{% set %}``, a for-loop variable)."""
    return any(isinstance(n, nodes.Name) and n.name == name and n.ctx in ("store", "param")
               for n in tree.find_all(nodes.Name))


def variables_for(event: Mapping[str, Any], rule_name: str) -> dict[str, Any]:
    """The variables a template of ``rule_name`` sees for ``event``."""
    return {"data": dict(event["data"]),
            "event": {k: event[k] for k in EVENT_FIELDS},
            "rule": rule_name}
