"""Messages published by EventPublisher are consumed by a REAL Celery worker process."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

from contract.constants import APPLY_EVENT_TASK, EVENTS_QUEUE
from contract.events import event_label, validate_event
from producers.queue import EventPublisher
from toky_ghl.keys import broker_keyprefix, queue_key

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "tests" / "unit" / "contract_samples.ndjson"
RECEIVED_KEY = "probe:received"


def sample_events():
    return [validate_event(json.loads(line)) for line in SAMPLES.read_text().splitlines()]


@contextlib.contextmanager
def celery_worker(redis_url: str, log_path: Path):
    """A real ``celery worker`` process on EVENTS_QUEUE; always stopped on exit."""
    env = {**os.environ, "PROBE_BROKER_URL": redis_url,
           "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    command = [sys.executable, "-m", "celery", "-A", "enqueue_probe_app", "worker",
               "-Q", EVENTS_QUEUE, "--pool", "threads", "-c", "2", "--loglevel", "INFO",
               "-n", f"probe-{uuid.uuid4().hex[:8]}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_for_records(client, count: int, process, log_path: Path, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.llen(RECEIVED_KEY) >= count:
            return [json.loads(raw) for raw in client.lrange(RECEIVED_KEY, 0, -1)]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"worker consumed {client.llen(RECEIVED_KEY)} of {count} messages; log:\n{log}")


def test_published_events_reach_a_real_worker_exactly(real_redis, redis_url, tmp_path):
    # Given the contract's sample events published by EventPublisher
    events = sample_events()
    publisher = EventPublisher(real_redis)
    assert publisher.publish(events).queued == len(events)
    log_path = tmp_path / "worker.log"
    # When a real Celery worker consumes the queue
    with celery_worker(redis_url, log_path) as process:
        wait_for_records(real_redis, len(events), process, log_path)
        # (and the same events published again are repeats, never delivered twice: a new
        # event published after them arrives, and nothing else did)
        again = publisher.publish(events)
        sentinel = {**events[0], "id": "after-the-repeats"}
        assert publisher.publish([sentinel]).queued == 1
        after = wait_for_records(real_redis, len(events) + 1, process, log_path)
        total = real_redis.llen(RECEIVED_KEY)
    assert after[-1]["args"][0]["id"] == "after-the-repeats"
    records = after[:-1]
    # Then each event arrived once, exactly as accepted, with its label as argsrepr
    by_id = {record["args"][0]["id"]: record for record in records}
    assert sorted(by_id) == sorted(e["id"] for e in events) and len(records) == len(events)
    for event in events:
        record = by_id[event["id"]]
        assert record["args"] == [event]
        assert record["kwargs"] == {}
        assert record["argsrepr"] == event_label(event)
        assert record["kwargsrepr"] == "{}"
        assert record["delivery_info"]["routing_key"] == EVENTS_QUEUE
    assert (again.queued, again.repeats, total) == (0, len(events), len(events) + 1)
    assert real_redis.llen(queue_key("tokyghl")) == 0


def test_our_message_has_the_shape_of_celerys_send_task(real_redis, redis_url):
    # Given one task sent by Celery itself and one published by EventPublisher
    event = sample_events()[3]
    label = event_label(event)
    app = Celery("shape", broker=redis_url, set_as_current=False)
    app.conf.broker_transport_options = {"global_keyprefix": broker_keyprefix("tokyghl")}
    try:
        app.send_task(APPLY_EVENT_TASK, args=[event], kwargs={}, queue=EVENTS_QUEUE,
                      argsrepr=label, kwargsrepr="{}")
    finally:
        app.close()
    celerys = json.loads(real_redis.rpop(queue_key("tokyghl")))
    EventPublisher(real_redis).publish_one(event)
    ours = json.loads(real_redis.rpop(queue_key("tokyghl")))
    # When both are compared as they sit in Redis
    # Then they have the same envelope, headers and delivery info, and the same body
    assert set(ours) == set(celerys)
    assert list(ours["headers"]) == list(celerys["headers"])
    assert ours["headers"]["argsrepr"] == celerys["headers"]["argsrepr"] == label
    for key in ("content-type", "content-encoding"):
        assert ours[key] == celerys[key]
    for key in ("delivery_info", "body_encoding", "priority", "delivery_mode"):
        assert ours["properties"][key] == celerys["properties"][key]
    assert json.loads(base64.b64decode(ours["body"])) == json.loads(
        base64.b64decode(celerys["body"]))


def _calls(client) -> dict[str, int]:
    """Calls per command so far, server-wide (INFO commandstats; a script's count too)."""
    return {name.removeprefix("cmdstat_"): int(stats["calls"])
            for name, stats in client.info("commandstats").items()}


def test_a_batch_is_pushed_with_one_lpush_and_one_marker_per_event(real_redis):
    # Given 300 new events and 20 repeats in one batch, and Redis's command counts
    events = [{**sample_events()[3], "id": f"batch-{n}"} for n in range(300)]
    publisher = EventPublisher(real_redis, batch_size=500)
    publisher.publish(events[:20])
    real_redis.delete(queue_key("tokyghl"))
    before = _calls(real_redis)
    # When the batch is published
    result = publisher.publish([*events[:20], *events[20:]])
    after = _calls(real_redis)
    # Then the 280 new ones were queued, in order, by a handful of LPUSHes (one here:
    # the margin is for other clients of this Redis), with one SET NX marker per event
    assert (result.queued, result.repeats) == (280, 20)
    ids = [json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]["id"]
           for raw in reversed(real_redis.lrange(queue_key("tokyghl"), 0, -1))]
    assert ids == [e["id"] for e in events[20:]]
    assert after.get("lpush", 0) - before.get("lpush", 0) <= 5
    assert after.get("set", 0) - before.get("set", 0) >= 300
