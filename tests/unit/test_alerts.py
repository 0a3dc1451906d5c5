"""The alert rules: the file Prometheus loads, promtool's tests of every rule, and the
same rules judged on the state now by ``toky-ghl status``."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import fakeredis
import pytest
import yaml

from toky_ghl.metrics import alerts, record
from toky_ghl.metrics.snapshot import read_snapshot
from toky_ghl.settings import Settings
from worker.status import collect_status, format_status

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "deploy" / "prometheus" / "alerts.yml"
TESTS_FILE = REPO / "deploy" / "prometheus" / "alerts_test.yml"
#: The rules the issue asks for, at least.
REQUIRED = {"TokyGhlDeadLettersGrowing", "TokyGhlBacklogGrowing", "TokyGhlLagHigh",
            "TokyGhlGhlThrottled", "TokyGhlGhlErrors", "TokyGhlCircuitOpen",
            "TokyGhlLocationPaused", "TokyGhlDailyBudgetLow", "TokyGhlNothingApplied",
            "TokyGhlPollerSilent", "TokyGhlWebhookSilent", "TokyGhlWebhookUnauthorizedBurst",
            "TokyGhlDeleteBurst", "TokyGhlEventRateRise"}


def loaded_rules() -> list[dict]:
    return yaml.safe_load(RULES_FILE.read_text())["groups"][0]["rules"]


def test_the_rules_file_is_rendered_from_the_thresholds():
    assert RULES_FILE.read_text() == alerts.render(), (
        "deploy/prometheus/alerts.yml is stale: "
        "python -m toky_ghl.metrics.alerts > deploy/prometheus/alerts.yml")


def test_every_rule_has_a_severity_a_summary_and_a_runbook():
    rules = loaded_rules()
    assert {r["alert"] for r in rules} >= REQUIRED
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert "docs/monitoring.md#" in rule["annotations"]["runbook"], rule["alert"]
    # and each runbook anchor exists in the docs
    docs = (REPO / "docs" / "monitoring.md").read_text().lower()
    for rule in rules:
        assert f"### {rule['alert'].lower()}" in docs, f"no runbook section for {rule['alert']}"


def test_every_rule_has_a_fixture_that_fires_and_one_that_does_not():
    cases = yaml.safe_load(TESTS_FILE.read_text())
    fired, quiet = set(), set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {r["alert"] for r in loaded_rules()}
    assert names - fired == set(), "rules never shown firing"
    assert names - quiet == set(), "rules never shown quiet"


def test_promtool_passes_every_rule_test():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool missing (apt-get install prometheus); required in CI")
    result = subprocess.run([promtool, "test", "rules", str(TESTS_FILE)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run([promtool, "check", "rules", str(RULES_FILE)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


SETTINGS = Settings(ghl_token="tok", ghl_location_id="loc", ghl_rate_limit_daily=1000)


def firing_now(client) -> set[str]:
    return {a["alert"] for a in alerts.evaluate_now(read_snapshot(client, SETTINGS))
            if a["state"] == "firing"}


def test_status_judges_the_level_rules_now_with_the_same_thresholds():
    client = fakeredis.FakeRedis()
    assert firing_now(client) == set()
    # Given GHL saying the day's budget is nearly spent (95 of 1000 left: below 10 %)
    from worker.ratelimit.shared import shared_limiter

    shared_limiter(SETTINGS, client).observe(
        "loc", {"X-RateLimit-Limit-Daily": "1000", "X-RateLimit-Daily-Remaining": "95"})
    assert read_snapshot(client, SETTINGS).budgets["loc"].daily_remaining == 95
    # And a poller whose last success was 20 minutes ago
    record.record_cycle(client, "tokyghl", "poll", ok=True, now_s=time.time() - 1200)
    # Then status shows both alerts firing, and says which rules need Prometheus
    assert firing_now(client) == {"TokyGhlDailyBudgetLow", "TokyGhlPollerSilent"}
    text = format_status(collect_status(client, SETTINGS))
    assert "FIRING TokyGhlDailyBudgetLow (warning)" in text
    assert "FIRING TokyGhlPollerSilent (critical)" in text
    assert "2 firing of" in text and "need Prometheus' history" in text


def test_a_backlog_whose_oldest_event_waited_ten_minutes_fires_now():
    from producers.queue import EventPublisher

    client = fakeredis.FakeRedis()
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 900))
    events = [{"id": f"e{i}", "type": "contact.created", "occurred_at": old,
               "data": {"phone": "+15125550101"}} for i in range(alerts.T["backlog_min_events"])]
    EventPublisher(client).publish(events)
    snap = read_snapshot(client, SETTINGS)
    assert snap.queued == alerts.T["backlog_min_events"]
    assert 890 <= snap.oldest_queued_age_s < 1000
    assert "TokyGhlBacklogGrowing" in firing_now(client)


def test_status_fires_the_circuit_alert_only_once_open_five_minutes():
    from clients.ghl.errors import GhlServerError
    from worker.circuit import Circuit

    client = fakeredis.FakeRedis()
    settings = Settings(ghl_token="tok", ghl_location_id="loc", circuit_failure_threshold=1)
    Circuit.from_settings(settings, client).failed("loc", GhlServerError("503", status=503),
                                                   probe=False)
    now = read_snapshot(client, settings)
    assert now.circuits["loc"] == "open"
    fired = {a["alert"]: a["state"] for a in alerts.evaluate_now(now)}
    assert fired["TokyGhlCircuitOpen"] == "ok"  # just opened
    later = read_snapshot(client, settings, now_s=time.time() + alerts.T["blocked_for_s"] + 1)
    fired = {a["alert"]: a["state"] for a in alerts.evaluate_now(later)}
    assert fired["TokyGhlCircuitOpen"] == "firing"
