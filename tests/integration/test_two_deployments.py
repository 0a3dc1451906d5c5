"""Two deployments on ONE Redis database, told apart only by TOKY_GHL_KEY_PREFIX.

Each has its own GHL (a simulator over HTTP), its own real worker process and its
own producer (`toky-ghl enqueue`, run as an operator runs it). Each deployment's
events must reach its own GHL and nothing else, and every key either writes
(Celery's queue, ``unacked`` and ``_kombu.*`` included) must be under its prefix.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.harness import REPO, GhlSimServer, WorkerProcess, wait_until, worker_env
from tests.integration.test_pipeline_dead_letters import cli
from worker.stats import Stats

pytestmark = pytest.mark.integration

PREFIXES = ("deploy-a", "deploy-b")


def contacts(tag: str, count: int) -> list[dict]:
    area = {"deploy-a": "512", "deploy-b": "737"}[tag]
    return [{"id": f"{tag}-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
             "data": {"phone": f"+1{area}555{i:04d}", "contact_name": f"{tag} person {i}"}}
            for i in range(count)]


def handled(client, prefix: str) -> int:
    counts = Stats(client, prefix).snapshot()
    return counts["applied"] + counts["skipped"] + counts["dead_lettered"]


def test_two_prefixes_share_a_redis_database_without_sharing_work(real_redis, redis_url, tmp_path):
    # Given two deployments on the same Redis database, each with its own GHL and worker
    sims = {p: GhlSimServer.start(max_requests=1000, interval_ms=1000) for p in PREFIXES}
    envs = {p: worker_env(redis_url, sims[p], TOKY_GHL_KEY_PREFIX=p) for p in PREFIXES}
    workers = {p: WorkerProcess(envs[p], tmp_path / f"{p}.log", name=p, concurrency=2)
               for p in PREFIXES}
    events = {p: contacts(p, 12) for p in PREFIXES}
    try:
        for worker in workers.values():
            worker.start()
        # When each operator queues their own events with `toky-ghl enqueue`
        for prefix in PREFIXES:
            stdin = "".join(json.dumps(e) + "\n" for e in events[prefix])
            done = cli(envs[prefix], "enqueue", "-", stdin=stdin)
            assert done.returncode == 0, done.stderr
            assert "queued 12" in done.stdout
        for prefix in PREFIXES:
            wait_until(lambda p=prefix: handled(real_redis, p) >= 12, 120,
                       f"{prefix}'s 12 events handled (log: {workers[prefix].log()[-2000:]})")

        # Then each GHL holds exactly its own deployment's contacts
        for prefix in PREFIXES:
            phones = sorted(c["phone"] for c in sims[prefix].objects("contacts")
                            if c["name"].startswith("deploy-"))
            assert phones == sorted(e["data"]["phone"] for e in events[prefix]), prefix
            assert Stats(real_redis, prefix).snapshot()["applied"] == 12

        # And each one's `status` counts only its own work
        for prefix in PREFIXES:
            report = json.loads(cli(envs[prefix], "status", "--json").stdout)
            assert report["counts"]["applied"] == 12 and report["queued"] == 0

        # And Celery's remote control reaches only the deployment's own worker
        for prefix in PREFIXES:
            ping = subprocess.run(
                [sys.executable, "-m", "celery", "-A", "worker", "inspect", "ping",
                 "--json", "--timeout", "5"],
                env=envs[prefix], cwd=REPO, capture_output=True, text=True, timeout=90)
            assert ping.returncode == 0, ping.stderr[-1000:]
            answered = [name.partition("@")[0] for name in json.loads(ping.stdout)]
            assert answered == [prefix], (prefix, ping.stdout)

        # And every key in the database, Celery's own included, is under one of the prefixes
        strays = [k.decode() for k in real_redis.scan_iter(count=1000)
                  if not k.decode().startswith(tuple(f"{p}:" for p in PREFIXES))]
        assert strays == []
        assert real_redis.exists("deploy-a:_kombu.binding.toky-ghl.events")
        assert real_redis.exists("deploy-b:_kombu.binding.toky-ghl.events")
    finally:
        for worker in workers.values():
            worker.stop()
        for sim in sims.values():
            sim.stop()


def test_events_an_earlier_version_left_queued_are_applied_after_the_upgrade(
        ghl, pipeline, start_worker):
    # Given events in the unprefixed queue an earlier version used
    events = contacts("deploy-a", 3)
    for event in events:
        pipeline.redis.lpush("toky-ghl.events", pipeline.publisher.message_for(event))
    # When a worker of this version starts
    worker = start_worker()
    # Then it moves them into its queue and applies them: nothing lost in the upgrade
    pipeline.wait_finished([e["id"] for e in events])
    assert pipeline.redis.llen("toky-ghl.events") == 0
    phones = {e["data"]["phone"] for e in events}
    assert all(ghl.contact_by_phone(p) is not None for p in phones)
    assert "moved events queued by an earlier version" in worker.log()
