"""Objects a rule names with ``key:``: later events update, complete, delete or cancel
them; latest wins per key; a change of an object not made yet waits; lost answers make
nothing twice. Through the real pipeline, the real GHL client and the simulator."""

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

PHONE = "+15125550101"
KEY = "cb-{{ data.from_number }}"
RULES = {"rules": [
    {"name": "callback", "when": {"event": "call.ended", "if": {"field": "direction",
                                                                "equals": "inbound"}},
     "do": [{"create_task": {"title": "Call back {{ data.callid }}", "key": KEY}}]},
    {"name": "texted", "when": {"event": "sms.received", "if": {"field": "text",
                                                                "matches": "^title:"}},
     "do": [{"update_task": {"key": KEY, "title": "{{ data.text[6:] }}"}}]},
    {"name": "stop", "when": {"event": "sms.received", "if": {"field": "text",
                                                              "equals": "STOP"}},
     "do": [{"delete_task": {"key": KEY}}]},
    {"name": "called back", "when": {"event": "call.ended", "if": {"field": "direction",
                                                                   "equals": "outbound"}},
     "do": [{"complete_task": {"key": "cb-{{ data.to_number }}", "if_missing": "skip"}}]},
]}


@pytest.fixture
def dry():
    run = DryRun(Settings.from_env({}), load_field_map(None))
    yield run
    run.close()


@pytest.fixture
def deps(dry, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(RULES))
    settings = dataclasses.replace(dry.settings, automations=str(path),
                                   ghl_retry_max_attempts=3)
    return PipelineDeps(settings=settings, redis=dry.redis, client=dry.client,
                        field_map=dry.field_map, rand=lambda: 0.5)


def call(eid: str, minute: int, callid: str = "c1") -> dict:
    return validate_event({"id": eid, "type": "call.ended",
                           "occurred_at": f"2026-11-26T18:{minute:02d}:00Z",
                           "data": {"callid": callid, "direction": "inbound", "state": "missed",
                                    "from_number": PHONE}})


def sms(eid: str, minute: int, text: str) -> dict:
    return validate_event({"id": eid, "type": "sms.received",
                           "occurred_at": f"2026-11-26T18:{minute:02d}:00Z",
                           "data": {"id": eid, "from_number": PHONE,
                                    "to_number": "+15125550199", "text": text}})


def tasks(dry: DryRun) -> list[dict]:
    return dry.sim.state()["locations"][dry.settings.ghl_location_id]["tasks"]


def writes(dry: DryRun, route: str) -> int:
    return dry.sim.stats_snapshot()["by_route"].get(route, 0)


def test_a_later_event_updates_the_task_a_rule_made_and_an_older_one_is_stale(dry, deps):
    assert process(call("call", 0), deps).kind == "applied"
    newer = process(sms("new", 10, "title:newer"), deps)
    assert newer.kind == "applied", newer.detail
    puts = writes(dry, "PUT /contacts/{contactId}/tasks/{taskId}")

    older = process(sms("old", 5, "title:older"), deps)

    assert (older.kind, older.detail) == ("skipped", "stale: a newer event already wrote "
                                                     f"the task 'cb-{PHONE}'")
    assert [t["title"] for t in tasks(dry)] == ["newer"]
    assert writes(dry, "PUT /contacts/{contactId}/tasks/{taskId}") == puts


def test_an_update_before_the_create_waits_then_applies(dry, deps):
    early = process(sms("early", 10, "title:after all"), deps)
    assert early.kind == "retry"
    assert early.detail.endswith(f"GHL has no task 'cb-{PHONE}' yet (the action creating it "
                                 "has not run)")
    assert tasks(dry) == []

    assert process(call("call", 0), deps).kind == "applied"
    again = process(sms("early", 10, "title:after all"), deps, failures=1)

    assert again.kind == "applied", again.detail
    assert [t["title"] for t in tasks(dry)] == ["after all"]


def test_an_update_whose_create_never_comes_is_dead_lettered_naming_the_rule(dry, deps):
    decision = process(sms("lonely", 10, "title:x"), deps, failures=2)
    assert decision.kind == "dead_lettered"
    reason = DeadLetterStore(dry.redis, "tokyghl").get("lonely").reason
    assert reason.startswith("rule 'texted' do[0] update_task: ")
    assert f"GHL has no task 'cb-{PHONE}' yet" in reason


def test_a_delete_before_an_older_create_keeps_it_deleted(dry, deps):
    deleted = process(sms("stop", 10, "STOP"), deps)
    assert (deleted.kind, deleted.detail) == (
        "skipped", f"GHL has no task 'cb-{PHONE}': nothing to delete")

    late_create = process(call("call", 0), deps)

    assert late_create.kind == "skipped"
    assert late_create.detail == f"stale: a newer event already wrote the task 'cb-{PHONE}'"
    assert tasks(dry) == []


def test_a_delete_then_a_newer_create_makes_a_new_one_and_a_key_mapped_makes_nothing(
        dry, deps):
    assert process(call("call-1", 0, "c1"), deps).kind == "applied"
    assert process(sms("stop", 5, "STOP"), deps).kind == "applied"
    assert tasks(dry) == []

    assert process(call("call-2", 10, "c2"), deps).kind == "applied"
    third = process(call("call-3", 20, "c3"), deps)

    assert (third.kind, third.detail) == ("skipped", f"task 'cb-{PHONE}' exists already")
    assert [t["title"] for t in tasks(dry)] == ["Call back c2"]


def test_a_lost_answer_on_a_named_create_adopts_what_ghl_made(dry, deps):
    dry.sim.update_config(lost_answer_rate=1.0)
    lost = process(call("call", 0), deps)
    assert lost.kind == "retry", lost.detail
    assert dry.sim.stats_snapshot()["lost_answers"] >= 1
    dry.sim.update_config(lost_answer_rate=0.0)

    again = process(call("call", 0), deps, failures=1)

    assert again.kind == "applied", again.detail
    assert [t["title"] for t in tasks(dry)] == ["Call back c1"]
    later = process(sms("new", 10, "title:renamed"), deps)
    assert later.kind == "applied", later.detail
    assert [t["title"] for t in tasks(dry)] == ["renamed"]


def test_if_missing_skip_completes_the_task_when_there_is_one_and_skips_otherwise(dry, deps):
    back = validate_event({"id": "back-1", "type": "call.ended",
                           "occurred_at": "2026-11-26T18:10:00Z",
                           "data": {"callid": "b1", "direction": "outbound",
                                    "state": "completed", "to_number": PHONE}})
    none_yet = process(back, deps)
    assert (none_yet.kind, none_yet.detail) == (
        "skipped", f"GHL has no task 'cb-{PHONE}' (if_missing: skip)")

    assert process(call("call", 20), deps).kind == "applied"
    again = process({**back, "id": "back-2", "occurred_at": "2026-11-26T18:30:00Z"}, deps)

    assert again.kind == "applied", again.detail
    assert [(t["title"], t["completed"]) for t in tasks(dry)] == [("Call back c1", True)]
