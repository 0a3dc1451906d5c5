"""Upgrading from the unprefixed Celery keys: what an earlier version left queued, or
delivered to a worker that is gone, moves into the deployment's queue."""

from __future__ import annotations

import json

import fakeredis

from contract.events import validate_event
from producers.queue import EventPublisher
from tests.unit.events_examples import SAMPLES
from toky_ghl.keys import queue_key
from worker.legacy_queue import adopt_legacy_messages

QUEUE = queue_key("tokyghl")


def samples() -> list[dict]:
    return [validate_event(json.loads(line)) for line in SAMPLES.read_text().splitlines()]


def ids_in(client, key) -> list[str]:
    """Event ids in the list ``key`` in the order a worker takes them (from the right)."""
    import base64

    out = []
    for raw in reversed(client.lrange(key, 0, -1)):
        out.append(json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]["id"])
    return out


def test_queued_and_abandoned_messages_of_the_old_keys_join_the_prefixed_queue():
    client = fakeredis.FakeRedis()
    publisher = EventPublisher(client)
    events = samples()[:4]
    # Given an earlier version's queue with two events, oldest first
    for event in events[:2]:
        client.lpush("toky-ghl.events", publisher.message_for(event))
    # and its unacked hash: one delivered long ago (its worker is gone), one just now
    old, recent = (json.loads(publisher.message_for(e)) for e in events[2:4])
    client.hset("unacked", mapping={"tag-old": json.dumps([old, "", "toky-ghl.events"]),
                                    "tag-new": json.dumps([recent, "", "toky-ghl.events"])})
    client.zadd("unacked_index", {"tag-old": 1000.0, "tag-new": 5000.0})
    # When a worker of this version starts (visibility timeout 1800 s, now 5010)
    moved = adopt_legacy_messages(client, "tokyghl", visibility_timeout_s=1800, now_s=5010)
    # Then the queued ones and the abandoned one are in the prefixed queue, in order,
    # the abandoned one first (as kombu restores), and the recent delivery is left alone
    assert moved == 3
    assert ids_in(client, QUEUE) == [events[2]["id"], events[0]["id"], events[1]["id"]]
    assert client.llen("toky-ghl.events") == 0
    assert client.hkeys("unacked") == [b"tag-new"]
    # And starting again moves nothing more
    assert adopt_legacy_messages(client, "tokyghl", visibility_timeout_s=1800, now_s=5010) == 0


def test_messages_in_the_prefixed_queues_priority_sub_lists_join_the_queue():
    client = fakeredis.FakeRedis()
    publisher = EventPublisher(client, key_prefix="tokyghl")
    events = samples()[:2]
    # Given a message a version with priority levels left in a priority sub-list, which
    # the durable pop (priority_steps [0]) does not read, and one in the queue
    client.lpush(f"{QUEUE}\x06\x169", publisher.message_for(events[0]))
    client.lpush(QUEUE, publisher.message_for(events[1]))
    # When a worker starts
    moved = adopt_legacy_messages(client, "tokyghl", visibility_timeout_s=1800)
    # Then both are in the queue, and the sub-list is empty
    assert moved == 1
    assert sorted(ids_in(client, QUEUE)) == sorted(e["id"] for e in events)
    assert client.llen(f"{QUEUE}\x06\x169") == 0
