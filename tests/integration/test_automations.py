"""The docs' example rules end to end: a real worker, the real Redis, the GHL simulator
over HTTP. Then the same under lost answers, 5xx and a SIGKILLed worker: each action
of a multi-action rule applied once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
import yaml

from tests.integration.harness import WRITE_SCOPES, wait_until
from tests.unit.rules_support import docs_example

pytestmark = pytest.mark.integration

SCOPES = WRITE_SCOPES + " opportunities.readonly opportunities.write"
AGENT_USER = "userBob0000000000001"
VIP = "+15125550101"


@pytest.fixture
def files(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(docs_example()))
    field_map = tmp_path / "map.yaml"
    field_map.write_text(yaml.safe_dump({"agents": {"bob@example.com": AGENT_USER}}))
    return {"AUTOMATIONS": str(rules), "FIELD_MAP": str(field_map), "GHL_SCOPES": SCOPES}


def event(eid: str, kind: str, at: str, **data) -> dict:
    return {"id": eid, "type": kind, "occurred_at": at, "data": data}


def location(ghl) -> dict:
    return ghl.sim.state()["locations"][ghl.location_id]


def test_the_docs_examples_end_to_end(ghl, pipeline, start_worker, files):
    start_worker(**files)
    # Given a contact tagged vip
    first = [event("c1", "contact.created", "2026-11-26T18:00:00Z",
                   phone=VIP, contact_name="Ana Lopez", tags=["vip"])]
    pipeline.enqueue(first)
    pipeline.wait_finished(["c1"])
    # and an open opportunity of theirs in the sales pipeline's first stage
    vip_id = ghl.contact_by_phone(VIP)["id"]
    with ghl.sim.lock:
        ghl.sim.location(ghl.location_id).opportunities["oppVip00000000000001"] = {
            "id": "oppVip00000000000001", "name": "Ana's deal", "status": "open",
            "pipelineId": "pipeSales0000000001", "pipelineStageId": "stageNew000000000001",
            "contactId": vip_id, "locationId": ghl.location_id}
    # When it misses a call
    missed = event("call-1", "call.ended", "2026-11-26T18:04:05Z", callid="c-1",
                   direction="inbound", state="missed", from_number=VIP, agent="bob@example.com")
    pipeline.enqueue([missed])
    pipeline.wait_finished(["call-1"])
    [task] = [t for t in ghl.children_of("tasks", VIP) if t["title"].startswith("VIP missed")]
    assert task["completed"] is False
    # then texts STOP, then has a completed 6-minute call
    later = [
        event("sms-1", "sms.received", "2026-11-26T18:05:00Z", id="s-1", from_number=VIP,
              to_number="+15125550199", text="STOP"),
        event("call-2", "call.ended", "2026-11-26T18:10:00Z", callid="c-2",
              direction="outbound", state="completed", to_number=VIP, duration=360),
        # and a contact NOT tagged vip misses a call too
        event("call-3", "call.ended", "2026-11-26T18:11:00Z", callid="c-3",
              direction="inbound", state="missed", from_number="+15125550177"),
    ]
    pipeline.enqueue(later)
    pipeline.wait_finished([e["id"] for e in later])
    assert pipeline.dead_letters() == []

    vip = ghl.contact_by_phone(VIP)
    # Then the vip's missed call made a task for the agent, due 15 minutes after the call,
    # which the call back (a completed outbound call) completed
    [task] = [t for t in ghl.children_of("tasks", VIP) if t["title"].startswith("VIP missed")]
    assert task["assignedTo"] == AGENT_USER
    assert task["completed"] is True
    due = datetime.fromisoformat(task["dueDate"].replace("Z", "+00:00"))
    assert due - datetime.fromisoformat("2026-11-26T18:04:05+00:00") == timedelta(minutes=15)
    # and added the contact to the workflow
    assert vip["id"] in location(ghl)["workflows"]["wfVipCallback0000001"]
    # the STOP set DND for SMS
    assert vip["dndSettings"]["SMS"]["status"] == "active"
    # the long completed call moved the contact's opportunity to the stage
    [opportunity] = location(ghl)["opportunities"]
    assert (opportunity["id"], opportunity["contactId"], opportunity["pipelineId"],
            opportunity["pipelineStageId"]) == ("oppVip00000000000001", vip["id"],
                                                "pipeSales0000000001", "stageTalked00000001")
    # the built-in rules still ran: one note per call and sms, the contract's follow-ups
    assert len(ghl.children_of("notes", VIP)) == 3
    assert [t["title"] for t in ghl.children_of("tasks", "+15125550177")] == [
        "Call back +15125550177"]
    # and the contact not tagged vip got no VIP task nor workflow
    other = ghl.contact_by_phone("+15125550177")
    assert other["id"] not in location(ghl)["workflows"]["wfVipCallback0000001"]


MULTI_RULES = {"extends": "default", "rules": [{
    "name": "vip miss",
    "when": {"event": "call.ended", "if": {"all": [
        {"field": "state", "equals": "missed"}, {"field": "contact.tags", "contains": "vip"}]}},
    "do": [{"create_task": {"title": "VIP {{ data.callid }}", "due_in": "15m",
                            "key": "vip-{{ data.callid }}"}},
           {"create_note": {"body": "VIP miss {{ data.callid }}"}},
           {"move_opportunity": {"pipeline_id": "pipeVip", "stage_id": "stageMissed"}},
           {"add_to_workflow": {"workflow_id": "wfVip"}},
           {"update_task": {"key": "vip-{{ data.callid }}", "body": "missed at {{ data.date }}",
                            "assignee": "bob@example.com"}}],
}]}


def test_lost_answers_and_a_sigkill_mid_rule_apply_each_action_once(
        ghl, pipeline, start_worker, files, tmp_path):
    rules = tmp_path / "multi.yaml"
    rules.write_text(yaml.safe_dump(MULTI_RULES))
    files["AUTOMATIONS"] = str(rules)
    n = 24
    contacts = [event(f"c{i}", "contact.created", "2026-11-26T18:00:00Z",
                      phone=f"+1512555{i:04d}", tags=["vip"]) for i in range(n)]
    calls = [event(f"call{i}", "call.ended", "2026-11-26T18:04:00Z", callid=f"cid{i:03d}",
                   direction="inbound", state="missed", from_number=f"+1512555{i:04d}")
             for i in range(n)]
    worker = start_worker(name="first", GHL_RETRY_MAX_ATTEMPTS="20", **files)
    pipeline.enqueue(contacts)
    pipeline.wait_finished([e["id"] for e in contacts], timeout_s=120)

    # Given GHL failing some requests and losing the answers of some writes, slowly
    ghl.sim.update_config(error_rate=0.15, lost_answer_rate=0.25, seed=11, latency_ms=30)
    pipeline.enqueue(calls)
    ids = [e["id"] for e in calls]
    # When the worker is SIGKILLed in the middle of the rules' actions, and another starts
    wait_until(lambda: len(location(ghl)["opportunities"]) >= 3, 120, "some rules under way")
    worker.kill()
    start_worker(name="second", GHL_RETRY_MAX_ATTEMPTS="20", **files)
    pipeline.wait_finished(ids, timeout_s=240)

    # Then every action of every call was applied exactly once
    assert pipeline.dead_letters() == []
    stats = ghl.sim.stats_snapshot()
    assert stats["lost_answers"] > 0
    tasks = Counter(t["title"] for t in ghl.objects("tasks") if t["title"].startswith("VIP"))
    assert sorted(tasks) == sorted(f"VIP cid{i:03d}" for i in range(n))
    assert max(tasks.values()) == 1, tasks.most_common(3)
    # the last action updated the task the first one made (by its key)
    assert {t.get("assignedTo") for t in ghl.objects("tasks")
            if t["title"].startswith("VIP")} == {AGENT_USER}
    notes = Counter(x["body"].split("\n")[0] for x in ghl.objects("notes")
                    if x["body"].startswith("VIP miss"))
    assert len(notes) == n and max(notes.values()) == 1, notes.most_common(3)
    per_contact = Counter(o["contactId"] for o in location(ghl)["opportunities"])
    assert len(per_contact) == n and max(per_contact.values()) == 1
    assert len(location(ghl)["workflows"]["wfVip"]) == n
    followups = [t for t in ghl.objects("tasks") if t["title"].startswith("Call back")]
    assert len(followups) == n  # the built-in rule's follow-up, once per missed call


WORKFLOW_POST = "POST /contacts/{contactId}/workflow/{workflowId}"
ENROL_ONLY = {"rules": [
    {"when": {"event": "contact.created"}, "do": [{"sync_contact": {}}]},
    {"name": "enrol", "when": {"event": "call.ended"},
     "do": [{"add_to_workflow": {"workflow_id": "wfLostAnswer0000001"}}]},
]}


def test_add_to_workflow_after_a_lost_answer_enrols_once_and_does_not_fail(
        ghl, pipeline, start_worker, files, tmp_path):
    rules = tmp_path / "enrol.yaml"
    rules.write_text(yaml.safe_dump(ENROL_ONLY))
    files["AUTOMATIONS"] = str(rules)
    worker = start_worker(**files)
    pipeline.enqueue([event("c1", "contact.created", "2026-11-26T18:00:00Z", phone=VIP)])
    pipeline.wait_finished(["c1"], workers=[worker])

    # Given GHL applying every write and losing its answer (a 504 after the work)
    ghl.sim.update_config(lost_answer_rate=1.0)
    pipeline.enqueue([event("call-1", "call.ended", "2026-11-26T18:04:05Z", callid="c-1",
                            direction="inbound", state="missed", from_number=VIP)])
    # When the worker's POST to the workflow is applied and its answer lost
    wait_until(lambda: ghl.sim.stats_snapshot()["lost_answers"] >= 1, 60,
               "the workflow POST's answer lost")
    # and GHL answers again: the worker retries the POST
    ghl.sim.update_config(lost_answer_rate=0.0)
    pipeline.wait_finished(["call-1"], workers=[worker])

    # Then the event is applied, not dead-lettered, the POST was sent again after the lost
    # answer, and the contact is enrolled once
    assert pipeline.dead_letters() == []
    posts = ghl.sim.stats_snapshot()["by_route"][WORKFLOW_POST]
    assert posts >= 2
    vip = ghl.contact_by_phone(VIP)
    enrolled = location(ghl)["workflows"]["wfLostAnswer0000001"]
    assert list(enrolled) == [vip["id"]]
    assert (enrolled[vip["id"]]["requests"], enrolled[vip["id"]]["entries"]) == (posts, 1)
