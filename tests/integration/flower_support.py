"""Flower as a real subprocess (``toky-ghl flower``) beside the harness's worker.

``synced_flower`` (a fixture: ``pytest_plugins = ["tests.integration.flower_support"]``
in a test module) starts Flower on a
free port with credentials in ``FLOWER_BASIC_AUTH``, then a real worker, queues
the contract samples and waits until Flower has seen every task succeed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.integration.harness import REPO, load_samples, wait_until

FLOWER_USER = "ops"
FLOWER_PASSWORD = "fl0wer-Test-Pass-7f3a"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FlowerProcess:
    """``toky-ghl flower`` on loopback; its output goes to ``log_path``."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = field(default=None, repr=False)
    #: The credentials in ``env["FLOWER_BASIC_AUTH"]``.
    auth: tuple[str, str] = (FLOWER_USER, FLOWER_PASSWORD)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FlowerProcess:
        cmd = [sys.executable, "-m", "cli.main", "flower", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=log,
                                         stderr=subprocess.STDOUT)
        wait_until(self._healthy, 30, f"Flower answering on {self.url} (log: {self.log()})",
                   interval_s=0.2)
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"Flower exited ({self.proc.returncode}): {self.log()}")
        try:
            return requests.get(f"{self.url}/healthcheck", timeout=1).ok
        except requests.RequestException:
            return False

    def get(self, path: str, *, auth: tuple[str, str] | None | bool = True) -> requests.Response:
        """GET ``path`` with the credentials (``auth=True``), none (None) or others."""
        return requests.get(f"{self.url}{path}", auth=self.auth if auth is True else auth,
                            timeout=10)

    def tasks(self) -> dict[str, dict]:
        return self.get("/api/tasks").json()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def synced_flower(redis_url, ghl, start_worker, pipeline, tmp_path):
    """Flower that has watched a real worker apply every contract sample."""
    from tests.integration.harness import worker_env

    env = worker_env(redis_url, ghl, FLOWER_BASIC_AUTH=f"{FLOWER_USER}:{FLOWER_PASSWORD}")
    flower = FlowerProcess(env, tmp_path / "flower.log").start()
    try:
        start_worker(name="w1")
        # Flower must watch the event stream before the tasks run (events are not stored).
        wait_until(lambda: any(flower.get("/api/workers?status=true").json().values()), 60,
                   "Flower to see the worker's heartbeat", interval_s=0.3)
        samples = load_samples()
        # The contact delete goes last: queued beside the voicemail of the same contact, it
        # may delete the contact between the voicemail's lookup and its note (reported).
        deletes = [e for e in samples if e["type"] == "contact.deleted"]
        pipeline.enqueue([e for e in samples if e not in deletes])
        pipeline.wait_handled(len(samples) - len(deletes))
        pipeline.enqueue(deletes)
        pipeline.wait_handled(len(samples))
        wait_until(lambda: sum(t["state"] == "SUCCESS" for t in flower.tasks().values())
                   >= len(samples), 30, "Flower to see every task succeed", interval_s=0.3)
        yield flower
    finally:
        flower.stop()
