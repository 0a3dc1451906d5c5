"""EventPublisher against fakeredis (with Lua): batching, dedupe by id, order, format."""

from __future__ import annotations

import base64
import json

import fakeredis
import pytest
import redis

from contract.constants import APPLY_EVENT_TASK, EVENT_ID_TTL_S, EVENTS_QUEUE
from contract.events import event_label, validate_event
from producers.queue import EventPublisher
from tests.unit.events_examples import SAMPLES, envelope
from toky_ghl.keys import queue_key

#: The events queue's Redis list for the default prefix.
QUEUE = queue_key("tokyghl")


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


def samples():
    return [validate_event(json.loads(line)) for line in SAMPLES.read_text().splitlines()]


def many(count: int):
    return [
        validate_event(envelope("call.ended", {"callid": f"c-{n}", "direction": "inbound",
                                               "state": "completed"}, id=f"e-{n}"))
        for n in range(count)
    ]


def consume(client, queue=QUEUE):
    """Pop like kombu's Redis transport (BRPOP = from the right): messages, bodies."""
    out = []
    while (raw := client.rpop(queue)) is not None:
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append((message, body))
    return out


def test_each_new_event_is_queued_as_an_apply_event_task(client):
    # Given the contract's sample events
    events = samples()
    # When they are published
    result = EventPublisher(client).publish(events)
    # Then each is one task message for apply_event with the event as its only arg
    assert (result.queued, result.repeats) == (len(events), 0)
    consumed = consume(client)
    assert [body[0] for _, body in consumed] == [[e] for e in events]
    for (message, body), event in zip(consumed, events, strict=True):
        assert body[1] == {}
        assert message["headers"]["task"] == APPLY_EVENT_TASK
        assert message["headers"]["argsrepr"] == event_label(event)
        assert message["headers"]["kwargsrepr"] == "{}"
        assert message["properties"]["delivery_info"] == {"exchange": "",
                                                          "routing_key": EVENTS_QUEUE}


def test_the_raw_message_never_shows_the_data_outside_the_body(client):
    # Given a contact event with personal data
    event = samples()[0]
    # When it is published
    EventPublisher(client).publish([event])
    message = json.loads(client.rpop(QUEUE))
    # Then name, email and phone are only in the (base64) body, not in headers
    visible = json.dumps({k: v for k, v in message.items() if k != "body"})
    assert "Lena" not in visible and "4155550134" not in visible


def test_queue_is_first_in_first_out(client):
    # Given 1,200 events published in batches of 500
    events = many(1200)
    EventPublisher(client, batch_size=500).publish(events)
    # When the worker pops them from the right, as BRPOP does
    order = [body[0][0]["id"] for _, body in consume(client)]
    # Then they come out in publishing order
    assert order == [e["id"] for e in events]


def test_a_repeated_id_is_not_queued_again(client):
    # Given events already published once
    publisher = EventPublisher(client)
    events = samples()
    publisher.publish(events)
    # When the same events (same ids) are published again, with one new one
    new = many(1)[0]
    result = publisher.publish([*events[:3], new])
    # Then only the new one is queued; the others are counted as repeats
    assert (result.queued, result.repeats) == (1, 3)
    assert result.queued_ids == (new["id"],)
    assert result.repeat_ids == tuple(e["id"] for e in events[:3])
    assert client.llen(QUEUE) == len(events) + 1


def test_a_repeat_inside_one_batch_is_caught(client):
    # Given one batch holding the same event id twice
    event = samples()[3]
    # When it is published
    result = EventPublisher(client).publish([event, dict(event)])
    # Then it is queued once
    assert (result.queued, result.repeats) == (1, 1)
    assert client.llen(QUEUE) == 1


def test_one_script_call_per_batch(client):
    # Given a publisher with batches of 500 whose script calls are counted
    publisher = EventPublisher(client, batch_size=500)
    calls = []
    script = publisher._script
    publisher._script = lambda keys, args: calls.append(int(args[2])) or script(keys=keys,
                                                                                args=args)
    # When 1,001 events are published
    result = publisher.publish(iter(many(1001)))
    # Then three round trips carried them: 500, 500 and 1
    assert calls == [500, 500, 1]
    assert result.queued == 1001


def test_the_same_call_counts_queued_events_by_type_and_source(client):
    # Given a publisher for the poller
    publisher = EventPublisher(client, source="poll")
    events = samples()[:3]
    # When three events are published, then the same three again
    publisher.publish(events)
    publisher.publish(events)
    # Then each queued event was counted once, by its type and the source
    counted = {k.decode(): int(v) for k, v in client.hgetall("tokyghl:metrics:enqueued").items()}
    expected: dict[str, int] = {}
    for event in events:
        key = f"{event['type']}|poll"
        expected[key] = expected.get(key, 0) + 1
    assert counted == expected


def test_publish_one_adds_the_callers_counts_whether_queued_or_not(client):
    publisher = EventPublisher(client)
    event = samples()[0]
    for _ in range(2):
        publisher.publish_one(event, counts=[("webhook", "call.finished|202")])
    assert client.hget("tokyghl:metrics:webhook", "call.finished|202") == b"2"
    assert client.llen(QUEUE) == 1


def test_queued_marker_is_prefixed_and_expires(client):
    # Given a publisher with its own key prefix
    publisher = EventPublisher(client, key_prefix="t1")
    # When an event is published
    publisher.publish_one(samples()[0])
    # Then its marker is under the prefix and expires after EVENT_ID_TTL_S
    ttl = client.ttl("t1:queued:s-001")
    assert EVENT_ID_TTL_S - 5 <= ttl <= EVENT_ID_TTL_S


def test_publish_one_says_whether_it_queued(client):
    # Given a publisher
    publisher = EventPublisher(client)
    event = samples()[4]
    # When the same event is published one by one twice
    first, second = publisher.publish_one(event), publisher.publish_one(event)
    # Then the first is queued and the second is a repeat
    assert (first, second) == (True, False)
    assert client.llen(QUEUE) == 1


def test_republish_skips_the_dedupe(client):
    # Given events already queued (and consumed)
    publisher = EventPublisher(client)
    events = samples()[:2]
    publisher.publish(events)
    consume(client)
    # When they are republished (dead-letter replay)
    count = publisher.republish(events)
    # Then they are queued again
    assert count == 2
    assert [body[0][0]["id"] for _, body in consume(client)] == [e["id"] for e in events]


def test_a_failed_push_leaves_the_event_unmarked(client):
    # Given a queue key that is not a list
    client.set(queue_key("tokyghl", "broken.queue"), "x")
    publisher = EventPublisher(client, queue="broken.queue")
    # When an event is published
    with pytest.raises(redis.ResponseError):
        publisher.publish_one(samples()[0])
    # Then it is not marked as queued, so a later run can still queue it
    assert not client.exists("tokyghl:queued:s-001")


def test_each_message_has_its_own_task_id_and_delivery_tag(client):
    # Given two events
    EventPublisher(client).publish(samples()[:2])
    # When their messages are read
    (a, _), (b, _) = consume(client)
    # Then ids and delivery tags differ, and root_id/correlation_id follow the task id
    assert a["headers"]["id"] != b["headers"]["id"]
    assert a["properties"]["delivery_tag"] != b["properties"]["delivery_tag"]
    for message in (a, b):
        task_id = message["headers"]["id"]
        assert message["headers"]["root_id"] == message["properties"]["correlation_id"] == task_id


def test_a_batch_larger_than_one_push_keeps_its_order_and_skips_its_repeats(client):
    # Given a batch of 2,600 events (pushed 1,000 values at a time) of which every
    # seventh was queued before
    publisher = EventPublisher(client, batch_size=5000)
    events = many(2600)
    publisher.publish(events[::7])
    consume(client)
    # When the whole batch is published
    result = publisher.publish(events)
    # Then only the new ones are queued, and they come out in publishing order
    fresh = [e["id"] for n, e in enumerate(events) if n % 7]
    assert result.queued_ids == tuple(fresh)
    assert [body[0][0]["id"] for _, body in consume(client)] == fresh


def test_a_failed_push_of_a_batch_leaves_none_of_its_new_events_marked(client):
    # Given a queue key that is not a list, and one event of the batch marked before
    client.set(queue_key("tokyghl", "broken.queue"), "x")
    publisher = EventPublisher(client, queue="broken.queue")
    events = many(5)
    client.set(publisher.queued_key(events[2]["id"]), "1")
    # When the batch is published
    with pytest.raises(redis.ResponseError):
        publisher.publish(events)
    # Then none of its new events is marked (a re-run queues them), none counted, and the
    # earlier marker is kept
    assert [bool(client.exists(publisher.queued_key(e["id"]))) for e in events] == [
        False, False, True, False, False]
    assert not client.exists("tokyghl:metrics:enqueued")
