"""``toky-ghl run`` with nothing configured: embedded Redis, both simulators, Flower,
worker, webhook receiver, poller and the demo events; everything stops at the end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from tests.integration.harness import REPO, wait_until
from tests.integration.stray_processes import processes_with

pytestmark = pytest.mark.integration

DEMO_EVENTS = REPO / "cli" / "launcher" / "demo_events.ndjson"
_STATUS = re.compile(r"status \| applied (\d+), skipped (\d+), dead-lettered (\d+)")
_FLOWER = re.compile(r"Flower .*: (http://\S+)/tasks +\(user (\S+), password (\S+):")
_WEBHOOK = re.compile(r"webhooks: +POST (http://\S+)/webhooks/toky/\{event\}\?token=(\S+)")
_TOKY_SIM = re.compile(r"Toky simulator: (http://\S+)")
_STATUS_CMD = re.compile(r"sync status: +(.+ status)$")
_METRICS = re.compile(r"\| +metrics: +(http://\S+/metrics)")


def _applied_in(metrics_url: str) -> float:
    """Applied events counted in the exporter's answer (parsed as Prometheus does)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(metrics_url, timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "tokyghl_events_total" and sample.labels["outcome"] == "applied")


def test_run_with_nothing_configured_applies_the_demo_and_stops_every_child(tmp_path):
    # Given no Redis, GHL, Toky, Flower or webhook configuration at all
    marker = f"toky-ghl-run-test-{uuid.uuid4()}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GHL_", "TOKY_", "CELERY_", "REDIS_URL", "FLOWER_",
                                "WEBHOOK_", "FIELD_MAP", "MIRROR_"))}
    env.update(RUN_TEST_MARKER=marker, PYTHONUNBUFFERED="1", LOG_LEVEL="INFO")
    # When `toky-ghl run` runs for a while
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--duration", "25",
                             "--status-every", "3"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(_FLOWER.search(line) for line in lines), 120,
                   "the summary's Flower line")
        # Then the summary's Flower URL and generated password open Flower's API
        url, user, password = next(_FLOWER.search(x) for x in lines if _FLOWER.search(x)).groups()
        assert requests.get(f"{url}/api/workers", timeout=10).status_code == 401
        # And the webhook receiver, with its generated secret, answers its health check
        hook_url, hook_token = next(_WEBHOOK.search(x) for x in lines if _WEBHOOK.search(x)
                                    ).groups()
        assert len(hook_token) >= 20
        assert requests.get(f"{hook_url}/healthz", timeout=10).status_code == 200
        wait_until(lambda: any("evt=s-001" in t["args"] for t in requests.get(
            f"{url}/api/tasks", auth=(user, password), timeout=10).json().values()), 60,
            "the demo's first event in Flower")
        # And the demo's contact added in the GHL simulator reaches the Toky simulator
        toky_sim = next(_TOKY_SIM.search(x) for x in lines if _TOKY_SIM.search(x)).group(1)
        wait_until(lambda: any(c["phone"] == "+15125550188" for c in requests.get(
            f"{toky_sim}/_sim/state", timeout=10).json()["contacts"]), 60,
            "the GHL demo contact mirrored into Toky")
        # And the summary's status command works when pasted into another shell (without
        # the demo's environment): it reports the demo's location and the mirror on
        status_cmd = next(_STATUS_CMD.search(x) for x in lines if _STATUS_CMD.search(x))
        pasted = subprocess.run(["bash", "-c", status_cmd.group(1)], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=60)
        assert pasted.returncode == 0, (status_cmd.group(1), pasted.stderr[-1000:])
        assert "rate budget   sim-location:" in pasted.stdout
        assert "mirror        on" in pasted.stdout
        # And the summary's metrics URL serves the applied events
        metrics_url = next(_METRICS.search(x) for x in lines if _METRICS.search(x)).group(1)
        wait_until(lambda: _applied_in(metrics_url) > 0, 60, "applied events in the metrics")
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    # And every piece said it was up, and where to look
    for piece in ("redis", "ghl-sim", "toky-sim", "worker", "webhook", "poller", "mirror",
                  "flower", "metrics"):
        assert re.search(rf"^ *{piece} \| ", output, re.M), f"no output from {piece}"
    assert "toky-ghl status" in output
    # And the status lines show the demo events (and the poller's) applied
    applied, _skipped, _dead = map(int, _STATUS.findall(output)[-1])
    demo_events = sum(1 for line in DEMO_EVENTS.read_text().splitlines() if line.strip())
    assert applied >= demo_events
    # And every child stopped: nothing with this run's marker is left running
    assert "all stopped" in output
    assert processes_with(marker) == []
