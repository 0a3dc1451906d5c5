"""Load and validate a rules file (YAML or JSON) before anything runs.

Shape::

    extends: default          # optional: the built-in rules first, then these
    rules:
      - name: vip missed call  # optional; names the rule in logs and dead letters
        when:
          event: call.ended    # or a list of event types
          if: {field: state, equals: missed}   # optional condition
        do:
          - create_task: {title: "Call back {{ data.from_number }}", due_in: 15m}
          - add_to_workflow: {workflow_id: "wf-123"}

Without ``extends: default`` the file REPLACES the built-in rules: events no
rule matches are acknowledged and skipped ("no rule matched"). Every problem
is a ``RulesError`` whose message starts with the path of the bad entry, e.g.
``rules[3].do[1].due_in: expected a duration like 90m, got 'soon'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from worker.rules.actions import ACTIONS, TOKY_API_KEY, Action
from worker.rules.conditions import Facts, Predicate, compile_condition
from worker.rules.errors import RulesError
from worker.rules.params import Resolver, compile_param
from worker.rules.templates import variables_for
from worker.rules.triggers import TRIGGERS, Field

DEFAULT_RULES_PATH = Path(__file__).with_name("default.yaml")
_TOP_KEYS = ("extends", "rules")
_RULE_KEYS = ("name", "when", "do")
_WHEN_KEYS = ("event", "if")
_ALL_FIELDS = sorted({name for t in TRIGGERS.values() for name in t.fields})


@dataclass(frozen=True)
class CompiledAction:
    """One action of a rule, its parameters ready to resolve for an event."""

    action: Action
    position: int
    resolvers: dict[str, Resolver]

    def params(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {name: resolve(variables) for name, resolve in self.resolvers.items()}


@dataclass(frozen=True)
class Rule:
    """``rid`` is the rule's name, else ``rules[i]`` (its place in its file): the
    middle part of its actions' idempotency keys."""

    rid: str
    events: tuple[str, ...]
    condition: Predicate | None
    actions: tuple[CompiledAction, ...]

    def matches(self, facts: Facts) -> bool:
        return self.condition is None or self.condition(facts)

    def variables(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return variables_for(event, self.rid)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str
    by_event: dict[str, tuple[Rule, ...]] = field(default_factory=dict)

    def for_event(self, event_type: str) -> tuple[Rule, ...]:
        return self.by_event.get(event_type, ())


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(str(path), f"cannot read the rules file: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RulesError(str(path), f"not valid {path.suffix.lstrip('.') or 'YAML'}: "
                                    f"{exc}") from None


def _fields_of(events: tuple[str, ...]) -> dict[str, Field]:
    """The fields every one of ``events`` has (a rule on several reads only those)."""
    common = dict(TRIGGERS[events[0]].fields)
    for event_type in events[1:]:
        common = {k: f for k, f in common.items() if k in TRIGGERS[event_type].fields}
    return common


def _events(when: Mapping[str, Any], path: str) -> tuple[str, ...]:
    raw = when.get("event")
    events = [raw] if isinstance(raw, str) else raw
    if not isinstance(events, list) or not events:
        raise RulesError(f"{path}.event", "expected an event type or a list of them")
    for i, name in enumerate(events):
        if name not in TRIGGERS:
            where = f"{path}.event" + (f"[{i}]" if not isinstance(raw, str) else "")
            raise RulesError(where, f"unknown trigger {name!r}; the triggers are "
                                    f"{', '.join(TRIGGERS)}")
    return tuple(dict.fromkeys(events))


def _action(entry: Any, events: tuple[str, ...], fields: dict[str, Field], path: str,
            position: int, granted: frozenset[str] | None) -> CompiledAction:
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise RulesError(path, "expected one action: {ACTION_NAME: {PARAMETER: VALUE, ...}}")
    name, raw = next(iter(entry.items()))
    action = ACTIONS.get(name)
    if action is None:
        raise RulesError(path, f"unknown action {name!r}; see `toky-ghl catalog`")
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise RulesError(f"{path}.{name}", f"expected the action's parameters as a mapping, "
                                           f"got {raw!r}")
    keyed = action.keyed and raw.get("key") is not None
    if action.events and not keyed:
        wrong = [e for e in events if e not in action.events]
        if wrong:
            raise RulesError(path, f"{name} acts on {', '.join(action.events)} events, not "
                                   f"{', '.join(wrong)}"
                             + (" (unless given the key of an object a rule created)"
                                if action.keyed else ""))
    elif not keyed and any(not TRIGGERS[e].has_customer for e in events):
        raise RulesError(path, f"{name} acts on the customer's GHL contact; "
                               f"{', '.join(e for e in events if not TRIGGERS[e].has_customer)}"
                               " events have none")
    if granted is not None:
        lacking = [s for s in action.scopes if s != TOKY_API_KEY and s not in granted]
        if lacking:
            raise RulesError(path, f"{name} needs scope {' and '.join(lacking)}, which "
                                   f"GHL_SCOPES lacks (it has: {' '.join(sorted(granted))})")
    resolvers: dict[str, Resolver] = {}
    names = [p.name for p in action.params]
    for key in raw:
        if key not in names:
            raise RulesError(f"{path}.{key}", f"unknown parameter of {name}; it takes: "
                                              f"{', '.join(names) or 'none'}")
    if action.needs_one_of and not any(raw.get(p) is not None for p in action.needs_one_of):
        raise RulesError(path, f"{name} needs at least one of "
                               f"{', '.join(action.needs_one_of)}")
    data_fields = [f for f in fields if "." not in f]
    for param in action.params:
        if param.name in raw and raw[param.name] is not None:
            resolvers[param.name] = compile_param(param, raw[param.name], data_fields,
                                                  f"{path}.{param.name}")
        elif param.required:
            raise RulesError(f"{path}.{param.name}", f"required parameter of {name} is "
                                                     "missing")
        elif param.default is not None:  # defaults may read any field (unset: empty)
            resolvers[param.name] = compile_param(param, param.default, _ALL_FIELDS,
                                                  f"{path}.{param.name}")
        else:
            resolvers[param.name] = lambda _variables: None
    return CompiledAction(action, position, resolvers)


def _rule(raw: Any, path: str, rid: str, granted: frozenset[str] | None) -> Rule:
    if not isinstance(raw, Mapping):
        raise RulesError(path, f"expected a rule (when, do), got {raw!r}")
    for key in raw:
        if key not in _RULE_KEYS:
            raise RulesError(f"{path}.{key}", f"unknown key; a rule has {', '.join(_RULE_KEYS)}")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()
                             or ":" in name or len(name) > 100):
        raise RulesError(f"{path}.name", "expected a short text without ':'")
    when = raw.get("when")
    if not isinstance(when, Mapping):
        raise RulesError(f"{path}.when", "expected {event: TYPE, if: CONDITION}")
    for key in when:
        if key not in _WHEN_KEYS:
            raise RulesError(f"{path}.when.{key}", f"unknown key; when has "
                                                   f"{', '.join(_WHEN_KEYS)}")
    events = _events(when, f"{path}.when")
    fields = _fields_of(events)
    condition = (compile_condition(when["if"], fields, f"{path}.when.if")
                 if "if" in when else None)
    do = raw.get("do")
    if not isinstance(do, list) or not do:
        raise RulesError(f"{path}.do", "expected a non-empty list of actions")
    actions = tuple(_action(entry, events, fields, f"{path}.do[{i}]", i, granted)
                    for i, entry in enumerate(do))
    return Rule(name.strip() if name else rid, events, condition, actions)


def compile_rules(doc: Any, source: str, *, granted: frozenset[str] | None = None,
                  base: Iterable[Rule] = ()) -> RuleSet:
    """A ``RuleSet`` from a decoded rules document. ``granted``: the scopes to check the
    rules' actions against (None: not checked); ``base``: rules placed first."""
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, Mapping):
        raise RulesError(source, "expected a mapping with 'rules' (and optionally 'extends')")
    for key in doc:
        if key not in _TOP_KEYS:
            raise RulesError(str(key), f"unknown key; a rules file has {', '.join(_TOP_KEYS)}")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        raise RulesError("rules", "expected a list of rules")
    rules = [*base]
    for i, raw in enumerate(raw_rules):
        rule = _rule(raw, f"rules[{i}]", f"rules[{i}]", granted)
        if any(r.rid == rule.rid for r in rules):
            raise RulesError(f"rules[{i}].name", f"another rule is named {rule.rid!r}")
        rules.append(rule)
    by_event: dict[str, list[Rule]] = {}
    for rule in rules:
        for event_type in rule.events:
            by_event.setdefault(event_type, []).append(rule)
    return RuleSet(tuple(rules), source, {k: tuple(v) for k, v in by_event.items()})


_default: RuleSet | None = None


def default_rules() -> RuleSet:
    """The built-in rules: the contract's table (validated once, cached)."""
    global _default
    if _default is None:
        _default = compile_rules(_read(DEFAULT_RULES_PATH), "default rules")
    return _default


def load_rules(path: str | Path | None, *, granted: frozenset[str] | None = None) -> RuleSet:
    """The rules of ``path`` (None: the built-in ones). ``granted``: GHL_SCOPES, checked
    against every action of the file's own rules (the built-in ones are checked per
    event, so read-only scopes still start and dead-letter writes naming the scope)."""
    if path is None:
        return default_rules()
    path = Path(path)
    doc = _read(path)
    extends = doc.get("extends") if isinstance(doc, Mapping) else None
    if extends not in (None, "default"):
        raise RulesError(f"{path}: extends", f"the only rules a file can extend are "
                                             f"'default', got {extends!r}")
    base = default_rules().rules if extends == "default" else ()
    try:
        return compile_rules(doc, str(path), granted=granted, base=base)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc.path}", exc.problem) from None
