"""Nothing lost when the task's own path fails, with real workers and a real Redis:
a poison event ends in the dead-letter store (``internal``) instead of looping, an
event that cannot be parked is dead-lettered, and one that can be neither parked nor
dead-lettered stays in the broker until it can be applied."""

from __future__ import annotations

import pytest

from tests.integration.harness import PREFIX, wait_until
from toky_ghl.keys import unacked_key

pytestmark = pytest.mark.integration


def contact(i: int) -> dict:
    return {"id": f"c-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}", "contact_name": f"Person {i}"}}


def test_a_poison_event_counts_attempts_and_ends_in_the_dead_letter_store(
        ghl, pipeline, start_worker):
    # Given an event whose de-duplication record cannot be read (a key of the wrong
    # type: every delivery fails before the pipeline decides anything)
    pipeline.redis.rpush(f"{PREFIX}:handled:c-1", "poison")
    start_worker(name="w1", GHL_RETRY_MAX_ATTEMPTS="3")
    # When it is queued, beside a healthy event
    pipeline.enqueue([contact(1), contact(2)])
    # Then it is dead-lettered as internal after 3 attempts, and the other is applied
    wait_until(lambda: any(d.id == "c-1" for d in pipeline.dead_letters()), 60,
               "the poison event in the dead-letter store")
    [entry] = [d for d in pipeline.dead_letters() if d.id == "c-1"]
    assert entry.kind == "internal" and "3 attempts" in entry.reason
    assert len(entry.history) == 3 and "WRONGTYPE" in entry.history[0]
    pipeline.wait_finished(["c-2"], timeout_s=60)
    assert ghl.contact_by_phone("+15125550001") is None


def test_an_event_that_cannot_be_parked_is_dead_lettered(ghl, pipeline, start_worker):
    # Given GHL answering 503 (the event must wait) and a delay store Redis refuses
    ghl.sim.update_config(error_rate=1.0)
    pipeline.redis.set(f"{PREFIX}:delay:{ghl.location_id}:items", "not a hash")
    start_worker(name="w1")
    # When an event is queued
    pipeline.enqueue([contact(1)])
    # Then it is dead-lettered as park_failed with the reason, not dropped
    wait_until(lambda: pipeline.dead_letters() != [], 60, "a dead letter")
    [entry] = pipeline.dead_letters()
    assert entry.id == "c-1" and entry.kind == "park_failed" and "WRONGTYPE" in entry.reason


def test_an_event_neither_parked_nor_dead_lettered_stays_in_the_broker(
        ghl, pipeline, start_worker):
    # Given GHL answering 503, and neither the delay store nor the dead-letter store
    # writable
    ghl.sim.update_config(error_rate=1.0)
    items = f"{PREFIX}:delay:{ghl.location_id}:items"
    pipeline.redis.set(items, "not a hash")
    pipeline.redis.set(f"{PREFIX}:dlq:items", "not a hash")
    start_worker(name="w1", CELERY_VISIBILITY_TIMEOUT_S="10")
    pipeline.enqueue([contact(1)])
    # When the worker fails to keep it, the message stays unacknowledged in the broker
    wait_until(lambda: pipeline.redis.hlen(unacked_key(PREFIX)) == 1 and pipeline.stats.snapshot()[
        "retried"] >= 1, 60, "the message left unacknowledged")
    # and once Redis takes writes again and GHL answers, it comes back and is applied
    pipeline.redis.delete(items, f"{PREFIX}:dlq:items")
    ghl.sim.update_config(error_rate=0.0)
    pipeline.wait_finished(["c-1"], timeout_s=90)
    assert ghl.contact_by_phone("+15125550001") is not None
    assert pipeline.dead_letters() == []
