"""The field map: how Toky fields become GHL fields (contract, section 5).

``load_field_map(path)`` reads a YAML or JSON file (``None``: the built-in
``fieldmap_default.yaml``, whose comments document the format) and validates
it; a bad entry raises ``ConfigError`` naming it, e.g.
``field map custom_fields[2].type: must be one of text, number, list, got 'date'``.
The worker loads it once at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from clients.toky.agents import agent_email as toky_agent_email
from toky_ghl.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("fieldmap_default.yaml")

#: GHL standard contact fields a map may fill (accepted by both upsert and PUT).
#: ``phone`` (the contact's identity) and ``source`` ("Toky") are fixed.
GHL_STANDARD_FIELDS = frozenset({
    "name", "firstName", "lastName", "email", "companyName", "address1", "city", "state",
    "postalCode", "country", "website", "timezone", "dateOfBirth",
})
#: The contract's standard fields: GHL field ← Toky field. ``standard`` adds or overrides.
DEFAULT_STANDARD: Mapping[str, str] = {
    "name": "contact_name", "email": "email", "city": "city", "country": "country_code",
}
CUSTOM_FIELD_TYPES = ("text", "number", "list")
_TOP_LEVEL = ("standard", "custom_fields", "tags", "agents")


@dataclass(frozen=True)
class CustomField:
    """One GHL custom field (by ``ghl_id`` or ``ghl_key``) filled from ``toky_field``."""

    toky_field: str
    type: str
    ghl_id: str | None = None
    ghl_key: str | None = None


@dataclass(frozen=True)
class TagRule:
    """Add ``add`` to a contact's tags; when ``field`` is set, only if it equals ``equals``."""

    add: tuple[str, ...]
    field: str | None = None
    equals: Any = None

    def matches(self, data: Mapping[str, Any]) -> bool:
        return self.field is None or lookup(data, self.field) == self.equals


@dataclass(frozen=True)
class FieldMap:
    """A validated field map. ``standard``: GHL field → Toky field, defaults included;
    ``agents``: lower-cased Toky agent email → GHL user id (a key written in Toky's
    id form, ``carlos__acme.com``, is stored as ``carlos@acme.com``)."""

    standard: Mapping[str, str]
    custom_fields: tuple[CustomField, ...] = ()
    tag_rules: tuple[TagRule, ...] = ()
    agents: Mapping[str, str] | None = None
    #: ``ghl_key`` → the custom field's id in GHL, filled (and refreshed in place) by
    #: ``worker.custom_field_ids`` from ``GET /locations/{locationId}/customFields``.
    key_ids: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def custom_field_id(self, custom: CustomField) -> str | None:
        """The GHL id to send for ``custom``: its ``ghl_id``, else its key's resolved id."""
        return custom.ghl_id or (self.key_ids.get(custom.ghl_key) if custom.ghl_key else None)

    def user_for(self, agent_email: str | None) -> str | None:
        """The GHL user id mapped to a Toky agent, or None when not mapped. The agent
        may be an email or Toky's id form (``carlos__acme.com``), in any case."""
        if not agent_email or not self.agents:
            return None
        email = toky_agent_email(agent_email)
        return self.agents.get(email) if email else None

    def tags_for(self, data: Mapping[str, Any]) -> list[str]:
        """The tags the rules add for a Toky contact, in rule order, without repeats."""
        tags = [tag for rule in self.tag_rules if rule.matches(data) for tag in rule.add]
        return list(dict.fromkeys(tags))


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in ``data`` (``"a.b"`` looks inside ``data["a"]``); None if absent."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def load_field_map(path: str | Path | None) -> FieldMap:
    """Read and validate the field map at ``path`` (None: the built-in default)."""
    source = Path(path) if path else DEFAULT_PATH
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"FIELD_MAP {source}: cannot read the file ({exc.strerror})") from None
    try:
        raw = json.loads(text) if source.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if source.suffix.lower() == ".json" else "YAML"
        raise ConfigError(f"FIELD_MAP {source}: not valid {kind}: {exc}") from None
    return parse_field_map(raw)


def parse_field_map(raw: Any) -> FieldMap:
    """Validate a decoded field map (``None``: an empty file, meaning only the defaults)."""
    raw = {} if raw is None else _mapping(raw, "")
    for name in raw:
        if name not in _TOP_LEVEL:
            _fail("", f"unknown key {name!r}; known keys: {', '.join(_TOP_LEVEL)}")
    return FieldMap(
        standard=_standard(raw.get("standard") or {}),
        custom_fields=tuple(_custom_fields(raw.get("custom_fields") or [])),
        tag_rules=tuple(_tag_rules(raw.get("tags") or [])),
        agents=_agents(raw.get("agents") or {}),
    )


def _fail(where: str, message: str) -> NoReturn:
    raise ConfigError(f"field map {where}: {message}" if where else f"field map: {message}")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(where, f"must be a mapping, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(where, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _standard(raw: Any) -> dict[str, str]:
    standard = dict(DEFAULT_STANDARD)
    for ghl_field, toky_field in _mapping(raw, "standard").items():
        where = f"standard.{ghl_field}"
        if ghl_field not in GHL_STANDARD_FIELDS:
            _fail(where, "not a GHL contact field this map may set; one of "
                         + ", ".join(sorted(GHL_STANDARD_FIELDS)))
        if toky_field is None:  # null: do not sync this field at all
            standard.pop(ghl_field, None)
        else:
            standard[ghl_field] = _text(toky_field, where)
    return standard


def _custom_fields(raw: Any) -> list[CustomField]:
    if not isinstance(raw, list):
        _fail("custom_fields", f"must be a list, got {type(raw).__name__}")
    fields: list[CustomField] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"custom_fields[{index}]"
        entry = _mapping(entry, where)
        unknown = set(entry) - {"ghl_id", "ghl_key", "toky_field", "type"}
        if unknown:
            _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
        if ("ghl_id" in entry) == ("ghl_key" in entry):
            _fail(where, "needs exactly one of ghl_id or ghl_key")
        target = "ghl_id" if "ghl_id" in entry else "ghl_key"
        ghl = _text(entry[target], f"{where}.{target}")
        if ghl in seen:
            _fail(f"{where}.{target}", f"{ghl!r} is mapped twice")
        seen.add(ghl)
        kind = entry.get("type", "text")
        if kind not in CUSTOM_FIELD_TYPES:
            _fail(f"{where}.type", f"must be one of {', '.join(CUSTOM_FIELD_TYPES)}, got {kind!r}")
        fields.append(CustomField(
            toky_field=_text(entry.get("toky_field"), f"{where}.toky_field"), type=kind,
            **{target: ghl},
        ))
    return fields


def _tag_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        _fail(where, f"must be a non-empty list of tags, got {value!r}")
    return tuple(_text(tag, f"{where}[{i}]") for i, tag in enumerate(value))


def _tag_rules(raw: Any) -> list[TagRule]:
    if not isinstance(raw, list):
        _fail("tags", f"must be a list of rules, got {type(raw).__name__}")
    rules: list[TagRule] = []
    for index, entry in enumerate(raw):
        where = f"tags[{index}]"
        entry = _mapping(entry, where)
        unknown = set(entry) - {"when", "add"}
        if unknown:
            _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
        add = _tag_list(entry.get("add"), f"{where}.add")
        if "when" not in entry:
            rules.append(TagRule(add=add))
            continue
        when = _mapping(entry["when"], f"{where}.when")
        if set(when) != {"field", "equals"}:
            _fail(f"{where}.when", f"needs exactly the keys field and equals, got {sorted(when)}")
        field = _text(when["field"], f"{where}.when.field")
        rules.append(TagRule(add=add, field=field, equals=when["equals"]))
    return rules


def _agents(raw: Any) -> dict[str, str]:
    agents: dict[str, str] = {}
    for key, user_id in _mapping(raw, "agents").items():
        where = f"agents.{key}"
        email = toky_agent_email(key)
        if email is None:
            _fail(where, "the key must be a Toky agent's email (carlos@acme.com) or Toky's "
                         "agent id (carlos__acme.com)")
        if email in agents:
            _fail(where, f"agent {email} is mapped twice")
        agents[email] = _text(user_id, where)
    return agents
