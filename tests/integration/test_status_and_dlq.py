"""`toky-ghl status` and `toky-ghl dlq` as an operator uses them, after a real worker ran."""

from __future__ import annotations

import json

import pytest

from tests.integration.harness import worker_env
from tests.integration.test_pipeline_dead_letters import cli

pytestmark = pytest.mark.integration


def contact(i: int) -> dict:
    return {"id": f"st-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}", "contact_name": f"Person {i}"}}


def test_status_and_dead_letter_commands(ghl, pipeline, start_worker, redis_url):
    # Given three good events and one with an unreadable phone (pushed past the producer)
    start_worker()
    pipeline.enqueue([contact(i) for i in range(3)])
    bad = {**contact(9), "id": "st-bad", "data": {"phone": "not a phone"}}
    pipeline.publisher.republish([bad])
    pipeline.wait_finished(["st-0", "st-1", "st-2", "st-bad"])
    env = worker_env(redis_url, ghl)

    # When the operator asks for the status
    report = json.loads(cli(env, "status", "--json").stdout)
    text = cli(env, "status").stdout
    # Then it counts what happened and shows the budget GHL left
    assert report["counts"]["applied"] == 3 and report["counts"]["dead_lettered"] == 1
    assert report["dead_lettered_now"] == 1 and report["queued"] == 0
    budget = report["rate_budget"][ghl.location_id]
    # (the day's count, not the 1-second window: that may have passed on a busy machine)
    assert budget["window_max"] == 1000 and 0 <= budget["window_remaining"] <= 1000
    assert budget["daily_remaining"] <= budget["daily_max"] - 3
    assert "dead letters  1" in text and "applied       3" in text

    # When the dead letters are listed and shown
    listing = cli(env, "dlq", "list")
    shown = cli(env, "dlq", "show", "st-bad")
    # Then the entry names the event, the kind and the field
    assert listing.returncode == 0 and "st-bad" in listing.stdout and "invalid" in listing.stdout
    entry = json.loads(shown.stdout)
    assert entry["event"] == bad and "data.phone" in entry["reason"]
    assert cli(env, "dlq", "show", "nope").returncode == 1

    # When purge is asked without --yes, nothing goes; with it, the store is empty
    refused = cli(env, "dlq", "purge")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert len(pipeline.dead_letters()) == 1
    assert "purged 1" in cli(env, "dlq", "purge", "--yes").stdout
    assert pipeline.dead_letters() == []


def test_dlq_replay_needs_ids_or_all(ghl, redis_url, real_redis):
    env = worker_env(redis_url, ghl)
    result = cli(env, "dlq", "replay")
    assert result.returncode == 2 and "--all" in result.stderr
    assert cli(env, "dlq", "replay", "missing-id").returncode == 1


def test_an_event_without_id_is_reported_not_replayed(ghl, pipeline, redis_url):
    # Given a dead letter whose event is not even an object (as the pipeline stores one)
    from worker.dlq import DeadLetterStore

    DeadLetterStore(pipeline.redis, "tokyghl").add("garbage", "invalid event: not an object",
                                                   "invalid")
    # When every dead letter is replayed
    result = cli(worker_env(redis_url, ghl), "dlq", "replay", "--all")
    # Then the command says why it is left, exits 1, and the entry stays
    assert result.returncode == 1 and "not replayable" in result.stderr
    assert len(pipeline.dead_letters()) == 1
