"""``toky-ghl metrics`` as an operator runs it: it says where it serves, answers in
Prometheus' text format from the shared Redis, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import REPO, wait_until
from toky_ghl.metrics.record import record_cycle

pytestmark = pytest.mark.integration


def test_metrics_serves_redis_state_and_stops_on_sigterm(redis_url, real_redis, tmp_path):
    # Given a poller cycle recorded in Redis by another process
    record_cycle(real_redis, "t-metrics", "poll", ok=True, records=4, queued=2)
    env = {**os.environ, "REDIS_URL": redis_url, "TOKY_GHL_KEY_PREFIX": "t-metrics",
           "GHL_LOCATION_ID": "loc-m", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "metrics.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "metrics", "--port", "0"],
                                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=out)
    try:
        # When it starts, it prints its URL
        wait_until(lambda: "serving on" in log.read_text(), 60, "the 'serving on' line")
        url = re.search(r"serving on (http://\S+/metrics)", log.read_text()).group(1)
        text = requests.get(url, timeout=10).text
        # Then the answer parses, and holds what the other process recorded
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples[("tokyghl_up", ())] == 1
        assert samples[("tokyghl_poller_items_total",
                        (("poller", "poll"), ("what", "queued")))] == 2
        assert samples[("tokyghl_ghl_budget_remaining",
                        (("location", "loc-m"), ("window", "day")))] > 0
        # And SIGTERM stops it with status 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "toky-ghl metrics: stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
