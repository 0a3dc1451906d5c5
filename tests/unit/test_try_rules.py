"""``toky-ghl try RULES SAMPLE.ndjson``: which rules fire and what they would send,
nothing sent (a strict HTTP stub fails on any real request)."""

from __future__ import annotations

import json

import pytest
import responses
import yaml

from cli.main import main
from tests.unit.rules_support import docs_example

VIP = "+15125550101"
EVENTS = [
    {"id": "e1", "type": "contact.created", "occurred_at": "2026-11-26T18:00:00Z",
     "data": {"phone": VIP, "tags": ["vip"]}},
    {"id": "e2", "type": "call.ended", "occurred_at": "2026-11-26T18:04:05Z",
     "data": {"callid": "c1", "direction": "inbound", "state": "missed", "from_number": VIP}},
    {"id": "e3", "type": "sms.received", "occurred_at": "2026-11-26T18:05:00Z",
     "data": {"id": "s1", "from_number": VIP, "to_number": "+15125550199", "text": "STOP"}},
]


@pytest.fixture
def files(tmp_path, monkeypatch):
    for name in ("FIELD_MAP", "AUTOMATIONS", "GHL_LOCATION_ID", "GHL_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(docs_example()))
    sample = tmp_path / "sample.ndjson"
    sample.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return rules, sample


@responses.activate  # no request may leave the process
def test_try_shows_the_rules_that_fire_and_the_requests_they_would_send(files, capsys):
    rules, sample = files
    assert main(["try", str(rules), str(sample), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["outcome"] for x in lines] == ["applied"] * 3
    assert lines[1]["fired"] == ["rule 'call ended' do[0] log_call",
                                 "rule 'vip missed call' do[0] create_task",
                                 "rule 'vip missed call' do[1] add_to_workflow"]
    sent = [(r["method"], r["path"].split("/")[-1]) for r in lines[1]["requests"]]
    assert ("POST", "wfVipCallback0000001") in sent
    assert lines[2]["fired"] == ["rule 'sms' do[0] log_sms", "rule 'sms stop' do[0] set_dnd"]
    [dnd] = [r for r in lines[2]["requests"] if r["method"] == "PUT"]
    assert dnd["body"] == {"dndSettings": {"SMS": {"status": "active"}}}


def test_try_stops_on_a_bad_rule_naming_it(files, tmp_path, capsys):
    _, sample = files
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"rules": [{"when": {"event": "call.ended"},
                                              "do": [{"create_task": {"title": "x",
                                                                      "due_in": "soon"}}]}]}))
    assert main(["try", str(bad), str(sample)]) == 2
    assert ("rules[0].do[0].due_in: expected a duration like 90m, got 'soon'"
            in capsys.readouterr().err)


def test_try_check_scopes_reads_ghl_scopes(files, monkeypatch, capsys):
    rules, sample = files
    monkeypatch.setenv("GHL_SCOPES", "contacts.readonly contacts.write")
    assert main(["try", str(rules), str(sample), "--check-scopes"]) == 2
    assert "move_opportunity needs scope opportunities.readonly and opportunities.write" in (
        capsys.readouterr().err)
