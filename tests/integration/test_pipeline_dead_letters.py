"""Bad input never reaches GHL and is reported; read-only scopes dead-letter writes,
and a replay after granting the scope applies everything exactly once; secrets
stay out of logs and task arguments."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.integration.harness import REPO, load_samples, worker_env
from toky_ghl.keys import queue_key

pytestmark = pytest.mark.integration


def cli(env: dict[str, str], *args: str, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=REPO,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_invalid_lines_are_reported_and_never_reach_ghl(ghl, pipeline, start_worker, redis_url):
    env = worker_env(redis_url, ghl)
    good = {"id": "ok-1", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": "+15125550101"}}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "bad-1", "data": {"phone": "12"}}),
        json.dumps({**good, "id": "bad-2", "type": "call.foo"}),
    ]
    # When the file is enqueued
    result = cli(env, "enqueue", "-", stdin="\n".join(lines) + "\n")
    # Then the command names each bad line and field, and exits 1
    assert result.returncode == 1
    assert "line 2" in result.stderr and "line 3" in result.stderr and "line 4" in result.stderr
    assert "data.phone" in result.stderr and "type" in result.stderr
    assert "queued 1" in result.stdout
    # and only the valid event reaches GHL
    start_worker()
    pipeline.wait_finished(["ok-1"])
    assert [c["phone"] for c in ghl.objects("contacts")] == ["+15125550101"]


def test_read_only_default_dead_letters_writes_then_replay_applies_once(
        ghl, pipeline, start_worker, redis_url):
    samples = [e for e in load_samples() if e["type"] != "contact.deleted"]
    ids = [e["id"] for e in samples]
    # Given a worker with GHL_SCOPES unset (the read-only default)
    worker = start_worker(name="readonly", GHL_SCOPES="")
    pipeline.enqueue(samples)
    pipeline.wait_finished(ids)

    # Then no write reached GHL and every write event is dead-lettered naming the scope
    assert ghl.writes() == 0
    letters = pipeline.dead_letters()
    assert sorted(d.id for d in letters) == sorted(ids)
    assert all("contacts.write" in d.reason or "calendars/events.write" in d.reason
               for d in letters)
    assert any("calendars/events.write" in d.reason for d in letters)

    # When the scopes are granted and the dead letters replayed
    worker.stop()
    start_worker(name="granted")
    result = cli(worker_env(redis_url, ghl), "dlq", "replay", "--all")
    assert result.returncode == 0, result.stderr
    pipeline.wait_finished(ids)

    # Then everything is applied exactly once
    assert pipeline.dead_letters() == []
    notes = [n["body"] for n in ghl.objects("notes")]
    assert sum("8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11" in b for b in notes) == 1
    assert len([t for t in ghl.objects("tasks") if t["title"] == "Send proposal"]) == 1
    assert len(ghl.objects("appointments")) == 1


def test_secrets_stay_out_of_logs_and_task_arguments(ghl, pipeline, start_worker, redis_url):
    # Given a worker with a token, and events that make it talk to GHL
    worker = start_worker(LOG_LEVEL="DEBUG")
    samples = load_samples()[:4]
    raw_messages_before = pipeline.redis.lrange(queue_key("tokyghl"), 0, -1)
    pipeline.enqueue(samples)
    queued = pipeline.redis.lrange(queue_key("tokyghl"), 0, -1)
    pipeline.wait_finished([e["id"] for e in samples])
    worker.stop()
    # Then neither the queued task messages nor the worker's log carry the token
    assert raw_messages_before == [] and queued
    assert all(ghl.token.encode() not in m for m in queued)
    log = worker.log()
    assert "event applied" in log  # the log is there and speaks of the work
    assert ghl.token not in log
    # every Authorization value in the log is redacted (a raw one beside it fails)
    assert [v for v in re.findall(r"Bearer\s*([^\s\"',}\]]*)", log) if v != "***"] == []
