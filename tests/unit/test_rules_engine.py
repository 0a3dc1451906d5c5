"""The rules engine: conditions, templates in the sandbox, and per-action guarantees
through the real pipeline (``process``), the real GHL client and the simulator."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from contract.events import validate_event
from toky_ghl.settings import Settings
from worker.dlq import DeadLetterStore
from worker.dryrun import DryRun
from worker.fieldmap import load_field_map
from worker.pipeline import PipelineDeps, process
from worker.rules import RulesError
from worker.rules.conditions import Facts, compile_condition
from worker.rules.templates import compile_template
from worker.rules.triggers import TRIGGERS

PHONE = "+15125550101"
CALL = TRIGGERS["call.ended"].fields
SMS = TRIGGERS["sms.received"].fields


def holds(spec, data, fields=CALL, tags=()) -> bool:
    return compile_condition(spec, fields, "if")(Facts(data, lambda: list(tags)))


@pytest.mark.parametrize(("spec", "data", "expected"), [
    ({"field": "state", "equals": "missed"}, {"state": "missed"}, True),
    ({"field": "state", "equals": "missed"}, {"state": "completed"}, False),
    ({"field": "state", "in": ["missed", "unsuccessful"]}, {"state": "unsuccessful"}, True),
    ({"field": "agent", "exists": True}, {"agent": ""}, False),
    ({"field": "agent", "exists": False}, {}, True),
    ({"field": "duration", "greater": 300}, {"duration": 301}, True),
    ({"field": "duration", "greater": 300}, {"duration": 300}, False),
    ({"field": "duration", "less": 10}, {}, False),
    ({"field": "date", "greater": "2026-11-26T18:00:00Z"}, {"date": "2026-11-26 18:30:00"}, True),
    ({"field": "agent", "matches": "^bob@"}, {"agent": "bob@example.com"}, True),
    ({"field": "agent", "equals": "BOB", "ignore_case": True}, {"agent": "bob"}, True),
    ({"not": {"field": "state", "equals": "missed"}}, {"state": "missed"}, False),
    ({"any": [{"field": "state", "equals": "missed"}, {"field": "duration", "greater": 9}]},
     {"state": "completed", "duration": 10}, True),
    ({"all": [{"field": "state", "equals": "missed"}, {"field": "duration", "greater": 9}]},
     {"state": "missed", "duration": 1}, False),
])
def test_condition_operators(spec, data, expected):
    assert holds(spec, data) is expected


def test_contains_reads_text_and_lists_and_the_contacts_ghl_tags():
    assert holds({"field": "text", "contains": "STOP"}, {"text": "pls STOP"}, SMS)
    assert not holds({"field": "text", "contains": "STOP"}, {"text": "stop"}, SMS)
    assert holds({"field": "text", "contains": "STOP", "ignore_case": True}, {"text": "stop"},
                 SMS)
    assert holds({"field": "contact.tags", "contains": "vip"}, {}, tags=["lead", "vip"])
    assert not holds({"field": "contact.tags", "contains": "vip"}, {}, tags=["lead"])


def test_templates_render_in_the_sandbox_and_private_attributes_are_refused():
    template = compile_template("Call {{ data.from_number }} ({{ data.agent | default('?') }})",
                                list(CALL), "p")
    assert template.render({"data": {"from_number": PHONE}}) == f"Call {PHONE} (?)"
    with pytest.raises(RulesError, match="private attribute"):
        compile_template("{{ data.agent.__class__.__mro__ }}", list(CALL), "p")
    with pytest.raises(RulesError, match="unknown template variable 'cycler'"):
        compile_template("{{ cycler(1, 2).next() }}", list(CALL), "p")


# -- per-action guarantees through the pipeline --------------------------------------------

def rules_file(tmp_path, name: str, workflow: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"rules": [{
        "name": "vip",
        "when": {"event": "call.ended"},
        "do": [{"create_note": {"body": "Missed {{ data.callid }}"}},
               {"add_to_workflow": {"workflow_id": "wf1", **workflow}},
               {"add_tags": {"tags": ["called"]}}]}]}))
    return str(path)


@pytest.fixture
def dry():
    run = DryRun(Settings.from_env({}), load_field_map(None))
    yield run
    run.close()


def deps(dry: DryRun, automations: str) -> PipelineDeps:
    settings = dataclasses.replace(dry.settings, automations=automations,
                                   ghl_retry_max_attempts=3)
    return PipelineDeps(settings=settings, redis=dry.redis, client=dry.client,
                        field_map=dry.field_map, rand=lambda: 0.5)


def posts(dry: DryRun, route: str) -> int:
    return dry.sim.stats_snapshot()["by_route"].get(route, 0)


def test_a_failed_action_leaves_earlier_ones_applied_later_ones_pending_and_replay_runs_the_rest(
        dry, tmp_path):
    location = lambda: dry.sim.state()["locations"][dry.settings.ghl_location_id]  # noqa: E731
    call = validate_event({"id": "call-1", "type": "call.ended",
                           "occurred_at": "2026-11-26T18:04:05Z",
                           "data": {"callid": "c1", "direction": "inbound", "state": "missed",
                                    "from_number": PHONE, "agent": "tomorrow"}})
    # Given a rule whose second action sends what GHL refuses (eventStartTime from the event)
    bad = rules_file(tmp_path, "bad.yaml", {"event_start_time": "{{ data.agent }}"})

    # When the event is processed
    decision = process(call, deps(dry, bad))

    # Then it is dead-lettered naming the rule and the action, with GHL's message
    assert decision.kind == "dead_lettered"
    entry = DeadLetterStore(dry.redis, "tokyghl").get("call-1")
    assert entry.reason.startswith("rule 'vip' do[1] add_to_workflow: GHL rejected the event: "
                                   "GHL 422")
    assert "eventStartTime" in entry.reason
    # the action before it is applied, the one after it was not tried
    [contact] = location()["contacts"]
    assert [n["body"].split("\n")[0] for n in location()["notes"]] == ["Missed c1"]
    assert location()["workflows"].get("wf1", {}) == {}
    assert "called" not in contact["tags"]

    # When the rule is fixed and the event replayed
    fixed = rules_file(tmp_path, "fixed.yaml", {})
    notes_before = posts(dry, "POST /contacts/{contactId}/notes")
    replay = process(call, deps(dry, fixed))

    # Then only the actions not applied run: no second note, the workflow and tag now applied
    assert replay.kind == "applied", replay.detail
    assert "do[0] create_note: applied by an earlier attempt" in replay.detail
    assert posts(dry, "POST /contacts/{contactId}/notes") == notes_before
    assert len(location()["notes"]) == 1
    assert contact["id"] in location()["workflows"]["wf1"]
    [contact] = location()["contacts"]
    assert "called" in contact["tags"]


def test_no_rule_matched_is_a_skip_and_rules_without_extends_replace_the_built_in(
        dry, tmp_path):
    only_calls = rules_file(tmp_path, "calls.yaml", {})
    decision = process({"id": "k1", "type": "contact.created",
                        "occurred_at": "2026-11-26T18:00:00Z", "data": {"phone": PHONE}},
                       deps(dry, only_calls))
    assert (decision.kind, decision.detail) == ("skipped", "no rule matched")
    assert dry.sim.state()["locations"][dry.settings.ghl_location_id]["contacts"] == []


def test_a_template_rendering_a_bad_id_is_dead_lettered_naming_the_rule_never_sent(
        dry, tmp_path):
    path = tmp_path / "ids.yaml"
    path.write_text(yaml.safe_dump({"rules": [{
        "name": "by agent", "when": {"event": "call.ended"},
        "do": [{"add_to_workflow": {"workflow_id": "{{ data.agent }}"}}]}]}))
    call = validate_event({"id": "call-2", "type": "call.ended",
                           "occurred_at": "2026-11-26T18:04:05Z",
                           "data": {"callid": "c2", "direction": "inbound", "state": "missed",
                                    "from_number": PHONE, "agent": "../../users"}})
    decision = process(call, deps(dry, str(path)))
    assert decision.kind == "dead_lettered"
    entry = DeadLetterStore(dry.redis, "tokyghl").get("call-2")
    assert entry.kind == "unprocessable"
    assert entry.reason.startswith("rule 'by agent' do[0] add_to_workflow: workflow_id rendered "
                                   "'../../users', not a GHL id")
    assert not any("workflow" in route for route in dry.sim.stats_snapshot()["by_route"])


def test_latest_wins_still_holds_for_rules_an_older_event_runs_no_action(dry, tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text(yaml.safe_dump({"rules": [{
        "name": "note", "when": {"event": "call.ended"},
        "do": [{"create_note": {"body": "{{ data.state }} {{ event.id }}"}},
               {"add_tags": {"tags": ["{{ data.state }}"]}}]}]}))

    def call(eid: str, at: str, state: str) -> dict:
        return validate_event({"id": eid, "type": "call.ended", "occurred_at": at,
                               "data": {"callid": "c9", "direction": "inbound", "state": state,
                                        "from_number": PHONE}})

    newer = process(call("new", "2026-11-26T18:10:00Z", "completed"), deps(dry, str(path)))
    older = process(call("old", "2026-11-26T18:00:00Z", "missed"), deps(dry, str(path)))
    assert newer.kind == "applied" and older.kind == "skipped"
    location = dry.sim.state()["locations"][dry.settings.ghl_location_id]
    assert [n["body"].split("\n")[0] for n in location["notes"]] == ["completed new"]
    assert "missed" not in location["contacts"][0]["tags"]
