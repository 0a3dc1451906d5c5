"""A bad rules file stops start-up with a message naming the rule and what is wrong."""

from __future__ import annotations

import json

import pytest
import yaml

from worker.rules import RulesError, load_rules

ALL = frozenset({"contacts.readonly", "contacts.write", "opportunities.readonly",
                 "opportunities.write"})
OK_RULE = {"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "hi"}}]}


def load(tmp_path, doc, *, granted=ALL, suffix=".yaml"):
    path = tmp_path / f"rules{suffix}"
    path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc))
    return load_rules(path, granted=granted)


def problem(tmp_path, doc, **kw) -> str:
    with pytest.raises(RulesError) as caught:
        load(tmp_path, doc, **kw)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "rules.yaml") + ": ")  # names the file
    return message.split(": ", 1)[1]


def with_rule(rule: dict, before: int = 0) -> dict:
    return {"rules": [OK_RULE] * before + [rule]}


def test_a_bad_duration_names_the_rule_the_action_and_the_parameter(tmp_path):
    rule = {"when": {"event": "call.ended"},
            "do": [{"create_note": {"body": "x"}},
                   {"create_task": {"title": "Call back", "due_in": "soon"}}]}
    assert problem(tmp_path, with_rule(rule, before=3)) == (
        "rules[3].do[1].due_in: expected a duration like 90m, got 'soon'")


@pytest.mark.parametrize(("rule", "expected"), [
    ({"when": {"event": "call.missed"}, "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.event: unknown trigger 'call.missed'"),
    ({"when": {"event": "call.ended", "if": {"field": "caller", "equals": "x"}},
      "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.if.field: unknown field 'caller'"),
    ({"when": {"event": "call.ended", "if": {"field": "state", "is": "missed"}},
      "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.if.is: unknown operator"),
    ({"when": {"event": "call.ended"}, "do": [{"add_to_flow": {"workflow_id": "w"}}]},
     "rules[0].do[0]: unknown action 'add_to_flow'"),
    ({"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "x", "colour": "red"}}]},
     "rules[0].do[0].colour: unknown parameter of create_note; it takes: body"),
    ({"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "{{ data.caller }}"}}]},
     "rules[0].do[0].body: unknown template variable data.caller"),
    ({"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "{{ secrets }}"}}]},
     "rules[0].do[0].body: unknown template variable 'secrets'"),
    ({"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "{{ data.x"}}]},
     "rules[0].do[0].body: template syntax error"),
    ({"when": {"event": "call.ended", "if": {"field": "state", "equals": "lost"}},
      "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.if.equals: state is one of completed, missed, unsuccessful, never 'lost'"),
    ({"when": {"event": "call.ended", "if": {"field": "duration", "greater": "long"}},
      "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.if.greater: expected a number, got 'long'"),
    ({"when": {"event": "call.ended",
               "if": {"all": [{"field": "state", "equals": "missed"},
                              {"field": "agent", "greater": 3}]}},
      "do": [{"create_note": {"body": "x"}}]},
     "rules[0].when.if.all[1].greater: agent is text"),
    ({"when": {"event": "sms.received"}, "do": [{"set_dnd": {"channel": "Pigeon"}}]},
     "rules[0].do[0].channel: expected one of Call, Email, SMS, WhatsApp, GMB, FB, got 'Pigeon'"),
    ({"when": {"event": "call.ended"}, "do": [{"add_to_workflow": {}}]},
     "rules[0].do[0].workflow_id: required parameter of add_to_workflow is missing"),
    ({"when": {"event": "call.ended"}, "do": [{"sync_task": {}}]},
     "rules[0].do[0]: sync_task acts on task.created, task.updated events, not call.ended"),
    ({"when": {"event": "ghl.contact.updated"}, "do": [{"add_tags": {"tags": ["x"]}}]},
     "rules[0].do[0]: add_tags acts on the customer's GHL contact"),
    ({"when": {"event": "call.ended"}, "do": [{"add_to_workflow": {"workflow_id": "../users"}}]},
     "rules[0].do[0].workflow_id: expected a GHL id (letters, digits, '_' or '-'"),
    ({"when": {"event": "call.ended"}, "do": [{"update_task": {"title": "x"}}]},
     "rules[0].do[0]: update_task acts on task.created, task.updated, task.completed events, "
     "not call.ended (unless given the key of an object a rule created)"),
    ({"when": {"event": "sms.received"}, "do": [{"update_task": {"key": "cb"}}]},
     "rules[0].do[0]: update_task needs at least one of title, body, due_in, assignee, "
     "completed"),
    ({"when": {"event": "call.ended"}, "do": [{"create_task": {"title": "x", "key": "a]b"}}]},
     "rules[0].do[0].key: expected an object key (printable text without ']'), got 'a]b'"),
    ({"when": {"event": "call.ended"},
      "do": [{"complete_task": {"key": "{{ data.caller }}"}}]},
     "rules[0].do[0].key: unknown template variable data.caller"),
    ({"when": {"event": "call.ended"}, "do": []},
     "rules[0].do: expected a non-empty list of actions"),
    ({"when": {"event": "call.ended"}, "do": [{"create_note": {"body": "x"}}], "then": 1},
     "rules[0].then: unknown key"),
])
def test_each_kind_of_bad_rule_is_named(tmp_path, rule, expected):
    assert problem(tmp_path, with_rule(rule)).startswith(expected)


def test_a_scope_the_rules_need_that_ghl_scopes_lacks(tmp_path):
    rule = {"when": {"event": "call.ended"},
            "do": [{"move_opportunity": {"pipeline_id": "p", "stage_id": "s"}}]}
    message = problem(tmp_path, with_rule(rule), granted=frozenset({"contacts.write"}))
    assert message.startswith("rules[0].do[0]: move_opportunity needs scope "
                              "opportunities.readonly and opportunities.write, which "
                              "GHL_SCOPES lacks (it has: contacts.write)")


def test_extends_only_default_and_top_level_keys_are_checked(tmp_path):
    assert problem(tmp_path, {"extends": "mine", "rules": []}).startswith(
        "extends: the only rules a file can extend are 'default'")
    assert problem(tmp_path, {"rule": []}).startswith("rule: unknown key")


def test_a_file_that_is_not_yaml_or_json_is_named(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text("{not json")
    with pytest.raises(RulesError, match=r"rules\.json: not valid json"):
        load_rules(path)


def test_extends_default_keeps_the_built_in_rules_first_and_without_it_replaces(tmp_path):
    extended = load(tmp_path, {"extends": "default", "rules": [OK_RULE]})
    assert [r.rid for r in extended.for_event("call.ended")] == ["call ended", "rules[0]"]
    replaced = load(tmp_path, {"rules": [OK_RULE]}, suffix=".json")
    assert [r.rid for r in replaced.for_event("call.ended")] == ["rules[0]"]
    assert replaced.for_event("contact.created") == ()


def test_the_docs_example_file_is_valid(tmp_path):
    from tests.unit.rules_support import docs_example

    rules = load(tmp_path, docs_example())
    assert [r.rid for r in rules.for_event("call.ended")] == [
        "call ended", "vip missed call", "vip called back", "long call moves the deal"]


def test_every_rules_example_in_the_docs_loads(tmp_path):
    import re

    from tests.unit.rules_support import DOCS

    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "automations.md").read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        assert load(tmp_path, yaml.safe_load(block)).rules


def test_the_docs_name_every_action():
    from tests.unit.rules_support import DOCS
    from worker.rules import ACTIONS

    text = (DOCS / "automations.md").read_text()
    assert [name for name in ACTIONS if f"`{name}`" not in text] == []
