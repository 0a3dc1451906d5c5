"""The end of a delivery releases its object's lock, and never a lock another delivery
took after this one's expired (worker.delivery.DeliveryScripts.end)."""

from __future__ import annotations

import fakeredis
import pytest

from worker import delivery
from worker.delivery import BeginState, DeliveryScripts
from worker.keys import object_lock_key
from worker.stats import Counted, Stats

PREFIX = "t"


@pytest.fixture
def redis_client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def scripts(client: fakeredis.FakeRedis) -> DeliveryScripts:
    return DeliveryScripts(client, PREFIX, lock_ttl_s=30, lock_wait_s=0)


def finish(client: fakeredis.FakeRedis) -> tuple[list[str], list[object]]:
    return Stats(client, PREFIX).finish_parts(Counted.APPLIED, "contact.created", "e-1", "")


def test_a_delivery_releases_its_lock_at_its_end(redis_client):
    d = scripts(redis_client)
    assert d.begin("e-1", "contact:+1", [], None).state is BeginState.GO
    assert d.end("e-1", "contact:+1", "applied", {}, finish(redis_client))
    assert redis_client.get(object_lock_key(PREFIX, "contact:+1")) is None


def test_a_delivery_past_half_its_lock_ttl_leaves_another_owners_lock(
        redis_client, monkeypatch):
    d = scripts(redis_client)
    begun = d.begin("e-1", "contact:+1", [], None)
    assert begun.state is BeginState.GO
    # its lock expired meanwhile (a stall of more than the TTL) and another took it
    key = object_lock_key(PREFIX, "contact:+1")
    redis_client.set(key, "another-token", px=30_000)
    later = begun.held_until_s + 1
    monkeypatch.setattr(delivery.time, "monotonic", lambda: later)
    assert not d.end("e-1", "contact:+1", "applied", {}, finish(redis_client))
    assert redis_client.get(key) == b"another-token"
