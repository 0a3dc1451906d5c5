"""Fixtures for the guarantee tests: a served GHL simulator and real worker processes."""

from __future__ import annotations

import pytest

from tests.integration.harness import GhlSimServer, Pipeline, WorkerProcess, worker_env


@pytest.fixture
def ghl():
    server = GhlSimServer.start(max_requests=1000, interval_ms=1000)
    yield server
    server.stop()


@pytest.fixture
def pipeline(real_redis, redis_url):
    pipe = Pipeline(redis_url)
    yield pipe
    pipe.redis.close()


@pytest.fixture
def start_worker(redis_url, ghl, tmp_path):
    """Start real worker processes: ``start_worker(name="w1", **env_overrides)``."""
    started: list[WorkerProcess] = []

    def start(name: str = "w1", concurrency: int = 4, **env: str) -> WorkerProcess:
        proc = WorkerProcess(worker_env(redis_url, ghl, **env), tmp_path / f"{name}.log",
                             name=name, concurrency=concurrency).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
