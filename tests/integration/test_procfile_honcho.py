"""The Procfile under honcho: every process (webhook receiver, worker, poller, Flower, the
GHL → Toky mirror, idle here as MIRROR_GHL_TO_TOKY is unset) comes up against the test
Redis, the GHL simulator and the Toky simulator, then all stop."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app, seed_demo
from tests.integration.harness import REPO, load_samples, wait_until, worker_env
from tests.integration.stray_processes import processes_with

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
FLOWER_AUTH = ("ops", "procfile-flower-pw")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _base_port() -> int:
    """A base port P with P (web) to P+500 (metrics) free (honcho's PORTs, 100 apart)."""
    for _ in range(50):
        base = random.randrange(20000, 40000)
        if all(_free(base + 100 * i) for i in range(6)):
            return base
    raise AssertionError("no free ports for honcho")


@pytest.fixture
def toky_sim():
    sim = TokySim(api_key="toky-procfile-key")
    seed_demo(sim)
    server = serve_in_thread(create_app(sim))
    yield server.url
    server.stop()


def test_every_procfile_process_comes_up_and_stops(redis_url, real_redis, ghl, toky_sim,
                                                   pipeline, tmp_path):
    # Given the Procfile's processes configured for the test Redis and both simulators
    marker = f"toky-ghl-procfile-test-{uuid.uuid4()}"
    env = worker_env(redis_url, ghl, TOKY_API_BASE=toky_sim, TOKY_API_KEY="toky-procfile-key",
                     WEBHOOK_SECRET="procfile-hook-secret-0123456789",
                     FLOWER_BASIC_AUTH=":".join(FLOWER_AUTH), PROCFILE_TEST_MARKER=marker,
                     PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PORT", None)
    (tmp_path / "empty.env").write_text("")
    base = _base_port()
    # When honcho starts them
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-f", str(REPO / "Procfile"), "-d", str(REPO),
         "-e", str(tmp_path / "empty.env"), "-p", str(base), "--no-colour"],
        cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(honcho.stdout), daemon=True)
    reader.start()
    flower = f"http://127.0.0.1:{base + 300}"

    # a busy machine may answer slowly: a slow answer is polled again, never a failure
    def answers(url: str, **kwargs) -> bool:
        try:
            return requests.get(url, timeout=10, **kwargs).status_code == 200
        except requests.RequestException:
            return False

    def answer_json(url: str, **kwargs) -> dict:
        try:
            got = requests.get(url, timeout=10, **kwargs)
            return got.json() if got.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            return {}

    try:
        # Then the webhook receiver (web) answers its health check
        wait_until(lambda: answers(f"http://127.0.0.1:{base}/healthz"), 60,
                   f"web /healthz (output: {''.join(lines)[-2000:]})", interval_s=0.3)
        # And Flower answers, behind its credentials, and sees the worker alive
        wait_until(lambda: any(answer_json(f"{flower}/api/workers?status=true",
                                           auth=FLOWER_AUTH).values()), 90,
                   "flower listing a live worker", interval_s=0.5)
        assert requests.get(f"{flower}/api/tasks", timeout=5).status_code == 401
        # And the exporter (metrics) serves the deployment's numbers, read from Redis
        metrics = f"http://127.0.0.1:{base + 500}/metrics"
        wait_until(lambda: answers(metrics), 60, "metrics /metrics", interval_s=0.3)
        assert "tokyghl_up 1.0" in requests.get(metrics, timeout=5).text
        # And the worker applies events
        samples = load_samples()
        pipeline.enqueue(samples)
        pipeline.wait_handled(len(samples))
        # And the poller polled the Toky simulator
        wait_until(lambda: any(line.split("|", 1)[0].strip().endswith("poller.1")
                               and "poll: " in line for line in lines), 60, "a poller report")
    finally:
        # When honcho is stopped, it stops every process
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=60)
        except subprocess.TimeoutExpired:
            honcho.kill()
            raise
        reader.join(timeout=10)
    output = "".join(lines)
    for name in ("web.1", "worker.1", "poller.1", "flower.1", "mirror.1", "metrics.1"):
        assert f"{name} " in output, f"no output from {name}"
    assert processes_with(marker) == []
