"""The durable pop's acknowledgements on an event loop (worker/broker.py, ``defer_ack``),
on a real Redis and kombu's own loop (``Hub``), as Celery's worker runs it: an
acknowledgement made on the loop's thread goes out in the same write as the next pop;
one that no pop carries goes alone in the same loop iteration; one whose answer was
lost with the pop's is sent again, and the acknowledged message is never given back to
the queue."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from contract.constants import EVENTS_QUEUE
from tests.integration.harness import PREFIX
from toky_ghl.keys import broker_keyprefix, queue_key

pytestmark = pytest.mark.integration

GP = broker_keyprefix(PREFIX)


def event(i: int) -> dict:
    return {"id": f"c-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}", "contact_name": f"Person {i}"}}


@contextmanager
def consuming_on_a_loop(redis_url):
    """A channel of the durable pop consuming the events queue, registered with kombu's
    event loop (driven here one iteration at a time); ``received`` gets each message."""
    from kombu import Connection
    from kombu.asynchronous import Hub

    received: list = []
    hub = Hub()
    try:
        with Connection(redis_url, transport="worker.broker:Transport",
                        transport_options={"global_keyprefix": GP,
                                           "visibility_timeout": 9}) as conn:
            channel = conn.channel()
            channel.basic_consume(EVENTS_QUEUE, False, received.append, "tag-1")
            conn.register_with_event_loop(hub)
            yield hub, channel, received
    finally:
        hub.close()


def run_until(hub, predicate, iterations: int = 50) -> None:
    loop = hub.loop
    for _ in range(iterations):
        if predicate():
            return
        next(loop)
    assert predicate(), "the loop did not get there"


def lrem_calls(channel) -> list:
    """Record the acknowledgements sent on their own (``Channel._lrem``: the client's)."""
    calls: list = []
    lrem = channel._lrem

    def counted(*args):
        calls.append(args)
        return lrem(*args)

    channel._lrem = counted
    return calls


def test_an_acknowledgement_on_the_loop_goes_out_with_the_next_pop(pipeline, redis_url):
    # Given a consumer on an event loop that was delivered the first of two messages
    pipeline.enqueue([event(1), event(2)])
    with consuming_on_a_loop(redis_url) as (hub, channel, received):
        run_until(hub, lambda: len(received) == 1)
        processing = channel.processing_key(EVENTS_QUEUE)
        sent_alone = lrem_calls(channel)

        # When it is acknowledged on the loop (as Celery does: Consumer.call_soon_ack)
        hub.call_soon(received[0].ack)
        run_until(hub, lambda: len(received) == 2)

        # Then the acknowledgement went with the pop of the second: nothing sent alone,
        # and the list holds only the second message
        r = pipeline.redis
        assert sent_alone == []
        held = r.lrange(processing, 0, -1)
        assert len(held) == 1 and "c-2" in json.loads(held[0])["headers"]["argsrepr"]
        assert r.llen(queue_key(PREFIX)) == 0

        # and acknowledging the last with the queue empty: the pop that carries it
        # blocks, its answer comes alone, and the next message is still delivered
        hub.call_soon(received[1].ack)
        run_until(hub, lambda: r.llen(processing) == 0)
        pipeline.enqueue([event(3)])
        run_until(hub, lambda: len(received) == 3)
        assert "c-3" in received[2]._raw["headers"]["argsrepr"]
        assert sent_alone == []


def test_an_acknowledgement_while_a_pop_waits_goes_at_once_on_its_own(pipeline, redis_url):
    # Given a consumer on an event loop holding a message, its next pop sent and
    # waiting on the empty queue
    pipeline.enqueue([event(1)])
    with consuming_on_a_loop(redis_url) as (hub, channel, received):
        run_until(hub, lambda: len(received) == 1)
        run_until(hub, lambda: bool(channel._in_poll))
        processing = channel.processing_key(EVENTS_QUEUE)
        sent_by_the_client = lrem_calls(channel)

        # When it is acknowledged on the loop
        hub.call_soon(received[0].ack)
        next(hub.loop)

        # Then the message left the list in that iteration, not through the client's
        # retrying path, and the waiting pop still delivers the next message
        assert pipeline.redis.llen(processing) == 0
        assert sent_by_the_client == []
        pipeline.enqueue([event(2)])
        run_until(hub, lambda: len(received) == 2)


def test_an_acknowledgement_no_pop_carries_goes_in_the_same_iteration(pipeline, redis_url):
    # Given a consumer on an event loop holding a message, no longer consuming (no pop
    # will follow: a worker stopping)
    pipeline.enqueue([event(1)])
    with consuming_on_a_loop(redis_url) as (hub, channel, received):
        run_until(hub, lambda: len(received) == 1)
        processing = channel.processing_key(EVENTS_QUEUE)
        channel.basic_cancel("tag-1")

        # When it is acknowledged on the loop
        hub.call_soon(received[0].ack)
        next(hub.loop)

        # Then the message left the list in that iteration
        assert pipeline.redis.llen(processing) == 0


def test_an_acknowledgement_whose_write_was_lost_is_sent_again_never_given_back(
        pipeline, redis_url):
    # Given a consumer on an event loop delivered the first of two messages, whose
    # acknowledgement goes with a pop that Redis never receives (the write lost, the
    # connection then dropped)
    pipeline.enqueue([event(1), event(2)])
    with consuming_on_a_loop(redis_url) as (hub, channel, received):
        run_until(hub, lambda: len(received) == 1)
        processing = channel.processing_key(EVENTS_QUEUE)
        connection = channel.client.connection
        lost: list = []
        connection.send_packed_command = lambda packed, **kw: lost.append(packed)
        hub.call_soon(received[0].ack)
        run_until(hub, lambda: lost != [])
        del connection.send_packed_command
        connection.disconnect()

        # When the loop goes on (the next pop starts on a new connection)
        run_until(hub, lambda: len(received) == 2)

        # Then the first message was not given back to the queue (the consumer knew it
        # had acknowledged it), and its acknowledgement was sent again
        r = pipeline.redis
        assert "c-2" in received[1]._raw["headers"]["argsrepr"]
        assert r.llen(queue_key(PREFIX)) == 0
        assert r.llen(processing) == 1
        hub.call_soon(received[1].ack)
        run_until(hub, lambda: r.llen(processing) == 0)
        assert len(received) == 2
