"""What Grafana would show: a real Prometheus scraping ``toky-ghl metrics`` and Flower
during a run with a real worker, the GHL and Toky simulators, the webhook receiver and
the poller; then every dashboard panel query and every alert expression evaluated
through Prometheus' HTTP API. And the exporter's own answer, parsed with
prometheus_client's parser, against what the GHL simulator saw.

Prometheus is Debian's ``prometheus`` package (``.ci/run`` installs it); Grafana
itself cannot run here.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from producers.queue import EventPublisher
from producers.webhook import create_app as create_webhook_app
from producers.webhook import make_server
from simulators.serve import serve_in_thread
from simulators.toky import TokySim, seed_demo
from simulators.toky import create_app as create_toky_app
from tests.integration.flower_support import FLOWER_PASSWORD, FLOWER_USER, FlowerProcess, free_port
from tests.integration.harness import (
    PREFIX,
    REPO,
    GhlSimServer,
    Pipeline,
    WorkerProcess,
    load_samples,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.integration

DASHBOARD = REPO / "deploy" / "grafana" / "toky-ghl.json"
RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
SECRET = "metrics-test-webhook-secret-0123456789"
TOKY_KEY = "toky-metrics-key"
CALL = {"callid": "call-metrics-1", "direction": "inbound", "state": "completed",
        "from_number": "+15125550177", "to_number": "+15125550000", "duration": "42",
        "date": "2026-11-20 11:58:00", "agent": "ana@demo.example", "agent_name": "Ana"}


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs Debian's prometheus package")
        pytest.skip(f"{name} missing (apt-get install prometheus); required in CI")
    return path


class Background:
    """Processes and servers started by the test, stopped in reverse order."""

    def __init__(self) -> None:
        self.stops: list = []

    def process(self, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

        def stop() -> None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)

        self.stops.append(stop)
        return proc

    def stop_all(self) -> None:
        for stop in reversed(self.stops):
            stop()


@pytest.fixture
def background():
    bg = Background()
    yield bg
    bg.stop_all()


def prometheus_config(tmp_path: Path, exporter_port: int, flower_port: int) -> Path:
    """The compose Prometheus config with loopback targets and a 1 s scrape interval."""
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES)]
    config.pop("alerting")
    targets = {"toky-ghl": f"127.0.0.1:{exporter_port}", "flower": f"127.0.0.1:{flower_port}"}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def query(prom: str, expr: str) -> list[dict]:
    answer = requests.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def has_finite_value(result: list[dict]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            if panel["type"] != "row" for target in panel["targets"]]


def scrape(url: str) -> dict[str, list]:
    text = requests.get(url, timeout=10).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_prometheus_scrapes_the_exporter_and_every_panel_and_alert_evaluates(
        redis_url, real_redis, tmp_path, background):
    prometheus = _binary("prometheus")
    # Given the GHL simulator answering 1 request in 5 with a 5xx (so events wait and
    # retry), the Toky simulator, a worker, Flower, the exporter and Prometheus
    ghl = GhlSimServer.start(max_requests=1000, interval_ms=1000, error_rate=0.2, seed=7)
    background.stops.append(ghl.stop)
    toky = TokySim(api_key=TOKY_KEY)
    seed_demo(toky)
    toky_server = serve_in_thread(create_toky_app(toky))
    background.stops.append(toky_server.stop)
    env = worker_env(redis_url, ghl, CIRCUIT_FAILURE_THRESHOLD="1000",
                     GHL_RETRY_MAX_ATTEMPTS="20",
                     FLOWER_BASIC_AUTH=f"{FLOWER_USER}:{FLOWER_PASSWORD}",
                     TOKY_API_BASE=f"{toky_server.url}/v1", TOKY_API_KEY=TOKY_KEY)
    flower = FlowerProcess(env, tmp_path / "flower.log").start()
    background.stops.append(flower.stop)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    background.stops.append(worker.stop)
    exporter_port = free_port()
    background.process([sys.executable, "-m", "cli.main", "metrics", "--port",
                        str(exporter_port)], env, tmp_path / "metrics.log")
    exporter = f"http://127.0.0.1:{exporter_port}/metrics"
    prom_port = free_port()
    config = prometheus_config(tmp_path, exporter_port, flower.port)
    background.process([prometheus, f"--config.file={config}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}"], env,
                       tmp_path / "prometheus.log")
    prom = f"http://127.0.0.1:{prom_port}"

    def targets_up() -> bool:
        try:
            result = query(prom, "up")
        except (requests.RequestException, ValueError, AssertionError):
            return False
        return {r["metric"]["job"]: r["value"][1] for r in result} == {"toky-ghl": "1",
                                                                         "flower": "1"}

    wait_until(targets_up, 90, f"Prometheus scraping the exporter and Flower "
               f"(log: {(tmp_path / 'prometheus.log').read_text()[-1500:]})", interval_s=0.5)
    wait_until(lambda: any(flower.get("/api/workers?status=true").json().values()), 60,
               "Flower to see the worker", interval_s=0.3)

    # When events arrive in waves a few scrapes apart (so Prometheus sees counters rise,
    # as it would in production): the contract samples and an invalid one (queued
    # directly), webhooks (two calls, three wrong tokens), a poll of the Toky simulator
    pipeline = Pipeline(redis_url)

    def next_wave() -> None:
        """Wait until Prometheus scraped what happened so far (twice)."""
        def last_scrape_s() -> float:
            return float(query(prom, 'timestamp(tokyghl_up{job="toky-ghl"})')[0]["value"][1])

        seen = last_scrape_s()
        wait_until(lambda: last_scrape_s() >= seen + 2, 30, "two more scrapes", interval_s=0.3)

    samples = load_samples()
    deletes = [e for e in samples if e["type"] == "contact.deleted"]
    invalid = {"id": "bad-phone-1", "type": "contact.created",
               "occurred_at": "2026-11-20T10:00:00Z", "data": {"phone": "12"}}
    first, second = samples[: len(samples) // 2], samples[len(samples) // 2:]
    pipeline.enqueue([e for e in first if e not in deletes] + [invalid])
    next_wave()
    pipeline.enqueue([e for e in second if e not in deletes])
    next_wave()
    app = create_webhook_app(secret=SECRET, redis_client=real_redis,
                             publisher=EventPublisher(real_redis, key_prefix=PREFIX,
                                                      source="webhook"))
    hook = make_server(app, port=0, threads=2, max_body_bytes=65536)
    threading.Thread(target=hook.run, daemon=True).start()
    background.stops.append(hook.close)
    hook_url = f"http://127.0.0.1:{hook.effective_port}/webhooks/toky"
    for callid in ("call-metrics-1", "call-metrics-2"):
        answer = requests.post(f"{hook_url}/inbound_call_ended", params={"token": SECRET},
                               json={**CALL, "callid": callid}, timeout=10)
        assert answer.status_code == 202, answer.text
        next_wave()
    for _ in range(3):
        assert requests.post(f"{hook_url}/inbound_call_ended", params={"token": "guess"},
                             json=CALL, timeout=10).status_code == 401
    poll = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert poll.returncode == 0, poll.stderr
    # and every event reaches an end (the delete last, after its contact's other events)
    queued_so_far = int(sum(int(v) for v in real_redis.hvals(f"{PREFIX}:metrics:enqueued")))
    pipeline.wait_handled(queued_so_far, timeout_s=240)
    pipeline.enqueue(deletes)
    pipeline.wait_handled(queued_so_far + len(deletes), timeout_s=120)

    # Then the exporter's answer, parsed as Prometheus parses it, matches what GHL saw
    families = scrape(exporter)
    seen = ghl.sim.stats_snapshot()
    by_status = Counter()
    by_route = Counter()
    for sample in families["tokyghl_ghl_requests"]:
        if sample.name == "tokyghl_ghl_requests_total":
            by_status[sample.labels["status"]] += int(sample.value)
            by_route[f"{sample.labels['method']} {sample.labels['route']}"] += int(sample.value)
    assert dict(by_status) == {k: v for k, v in seen["by_status"].items() if v}
    sim_routes = Counter({re.sub(r"\{[^}]+\}", "{id}", route): n
                          for route, n in seen["by_route"].items()})
    assert +by_route == +sim_routes
    # and the decisions match the status counters, the webhooks what was posted
    counts = pipeline.stats.snapshot()
    outcomes = Counter()
    for sample in families["tokyghl_events"]:
        outcomes[sample.labels["outcome"]] += int(sample.value)
    assert {k: outcomes[k] for k in ("applied", "skipped", "dead_lettered")} == \
        {k: counts[k] for k in ("applied", "skipped", "dead_lettered")}
    assert outcomes["retried"] > 0  # the 5xx answers made events wait
    assert by_status["500"] + by_status["502"] + by_status["503"] > 0
    webhooks = {(s.labels["event"], s.labels["status"]): s.value
                for s in families["tokyghl_webhook_requests"]
                if s.name == "tokyghl_webhook_requests_total" and s.value}
    assert webhooks == {("inbound_call_ended", "202"): 2, ("inbound_call_ended", "401"): 3}

    # And every panel of the dashboard returns data from Prometheus
    queries = panel_queries()
    assert len(queries) >= 20
    for title, expr in queries:
        wait_until(lambda expr=expr: has_finite_value(query(prom, expr)), 60,
                   f"panel {title!r} to return data ({expr})", interval_s=1)
    # And every alert expression parses and evaluates; Prometheus loaded every rule
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    for rule in rules:
        query(prom, rule["expr"])

    def rules_healthy() -> bool:
        groups = requests.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = {r["name"]: r["health"] for g in groups for r in g["rules"]}
        return loaded == {r["alert"]: "ok" for r in rules}

    wait_until(rules_healthy, 30, "every alert rule loaded and evaluated by Prometheus",
               interval_s=1)
    # And the alerts that must fire after this run do: dead letters were added
    wait_until(lambda: any(a["labels"]["alertname"] == "TokyGhlDeadLettersGrowing"
                           for a in requests.get(f"{prom}/api/v1/alerts", timeout=10)
                           .json()["data"]["alerts"]), 30, "TokyGhlDeadLettersGrowing active",
               interval_s=1)
