"""The durable pop's processing lists on a real Redis (worker/broker_processing.py): a
dead consumer's popped message goes back on the queue once, a live consumer's stays,
nothing is doubled; ``status`` counts them; a worker starting restores a list left by
a version that is gone. And the transport (worker/broker.py): a message stays in the
consumer's list until acknowledged (no kombu ``unacked`` record), the consumer stays
alive while it holds messages without popping, and a requeue, a close, a message left
unacknowledged, a refused acknowledgement, a lost pop answer and a pop read across a
lapse of the alive key each leave the message queued or held exactly once."""

from __future__ import annotations

import json
import socket
from contextlib import contextmanager, suppress

import pytest

from contract.constants import EVENTS_QUEUE
from tests.integration.harness import PREFIX, wait_until
from toky_ghl.keys import broker_keyprefix, queue_key, unacked_key
from toky_ghl.metrics.snapshot import read_snapshot
from toky_ghl.settings import Settings
from worker import broker_processing as bp
from worker.status import collect_status, format_status

pytestmark = pytest.mark.integration

GP = broker_keyprefix(PREFIX)


def event(i: int) -> dict:
    return {"id": f"c-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}", "contact_name": f"Person {i}"}}


def popped_by(pipeline, consumer: str, *, alive: bool) -> tuple[str, bytes]:
    """What a consumer's BRPOPLPUSH does: the oldest queued message into its processing
    list (and its alive key, when it is alive)."""
    processing = bp.processing_key(GP, EVENTS_QUEUE, consumer)
    r = pipeline.redis
    r.sadd(bp.registry_key(GP), processing)
    if alive:
        r.set(bp.alive_key(processing), consumer, ex=60)
    raw = r.brpoplpush(queue_key(PREFIX), processing, 1)
    assert raw is not None
    return processing, raw


def queued_event_ids(pipeline) -> list[str]:
    ids = []
    for raw in pipeline.redis.lrange(queue_key(PREFIX), 0, -1):
        ids.append(json.loads(raw)["headers"]["argsrepr"])
    return ids


def test_a_dead_consumers_popped_message_goes_back_on_the_queue_once(pipeline):
    # Given an event popped by a consumer that is gone (no alive key)
    pipeline.enqueue([event(1)])
    processing, _ = popped_by(pipeline, "gone.1.aaaa", alive=False)
    assert pipeline.redis.llen(queue_key(PREFIX)) == 0

    # When two sweeps run (two workers' sweeps, or one twice)
    first = bp.restore_dead(pipeline.redis, GP)
    second = bp.restore_dead(pipeline.redis, GP)

    # Then the event is on the queue once, and the dead consumer's list is gone
    assert (first, second) == (1, 0)
    assert len(queued_event_ids(pipeline)) == 1 and "c-1" in queued_event_ids(pipeline)[0]
    assert not pipeline.redis.exists(processing)
    assert pipeline.redis.smembers(bp.registry_key(GP)) == set()


def test_a_live_consumers_processing_list_is_left_alone(pipeline):
    # Given an event popped by a consumer that is alive
    pipeline.enqueue([event(1)])
    processing, _ = popped_by(pipeline, "alive.1.bbbb", alive=True)

    # When a sweep runs
    restored = bp.restore_dead(pipeline.redis, GP)

    # Then nothing moved: the consumer records it itself
    assert restored == 0
    assert pipeline.redis.llen(processing) == 1 and pipeline.redis.llen(queue_key(PREFIX)) == 0


def test_a_message_both_popped_and_recorded_in_unacked_is_not_doubled(pipeline):
    # Given a dead consumer's message that is also in kombu's unacked hash
    pipeline.enqueue([event(1)])
    processing, raw = popped_by(pipeline, "gone.2.cccc", alive=False)
    tag = json.loads(raw)["properties"]["delivery_tag"]
    pipeline.redis.hset(unacked_key(PREFIX), tag,
                        json.dumps([json.loads(raw), "", EVENTS_QUEUE]))

    # When a sweep runs
    restored = bp.restore_dead(pipeline.redis, GP)

    # Then the processing copy is dropped, not queued: unacked's copy comes back by itself
    assert restored == 0
    assert pipeline.redis.llen(queue_key(PREFIX)) == 0 and not pipeline.redis.exists(processing)
    assert pipeline.redis.hexists(unacked_key(PREFIX), tag)


def test_a_claim_after_a_sweep_took_the_message_back_records_nothing(pipeline):
    # Given a consumer thought dead whose popped message a sweep put back on the queue
    pipeline.enqueue([event(1)])
    processing, raw = popped_by(pipeline, "slow.1.dddd", alive=False)
    assert bp.restore_dead(pipeline.redis, GP) == 1
    tag = json.loads(raw)["properties"]["delivery_tag"]

    # When the consumer, still running, records it (what its QoS.append does)
    claim = pipeline.redis.register_script(bp.CLAIM_LUA)
    claimed = claim(keys=[processing, f"{GP}unacked_index", unacked_key(PREFIX)],
                    args=[raw, 1.0, tag, "[]"])

    # Then the claim is refused: the message is queued once and not in unacked
    assert claimed == 0
    assert pipeline.redis.hlen(unacked_key(PREFIX)) == 0
    assert pipeline.redis.llen(queue_key(PREFIX)) == 1


def test_a_claim_moves_the_message_from_processing_to_unacked(pipeline):
    pipeline.enqueue([event(1)])
    processing, raw = popped_by(pipeline, "alive.2.eeee", alive=True)
    tag = json.loads(raw)["properties"]["delivery_tag"]

    claim = pipeline.redis.register_script(bp.CLAIM_LUA)
    claimed = claim(keys=[processing, f"{GP}unacked_index", unacked_key(PREFIX)],
                    args=[raw, 1.0, tag, "[]"])

    assert claimed == 1
    assert pipeline.redis.llen(processing) == 0
    assert pipeline.redis.hget(unacked_key(PREFIX), tag) == b"[]"
    assert pipeline.redis.zscore(f"{GP}unacked_index", tag) == 1.0


def test_status_counts_popped_messages_in_flight_or_awaiting_redelivery(pipeline):
    # Given one event popped by a live consumer and one by a dead consumer
    pipeline.enqueue([event(1), event(2)])
    popped_by(pipeline, "alive.3.ffff", alive=True)
    popped_by(pipeline, "gone.3.gggg", alive=False)

    # When an operator runs status, or the metrics are read
    settings = Settings(key_prefix=PREFIX, ghl_token="tok")
    report = collect_status(pipeline.redis, settings)
    snap = read_snapshot(pipeline.redis, settings)

    # Then the live one is in flight, the dead one awaits re-delivery, none is queued
    assert report["queued"] == 0
    assert report["in_flight"] == 1 and report["awaiting_redelivery"] == 1
    assert "in flight     1 (+1 held by stopped workers" in format_status(report)
    assert (snap.in_flight, snap.awaiting_redelivery) == (1, 1)


def test_a_worker_starting_restores_a_processing_list_of_a_version_that_is_gone(
        ghl, pipeline, start_worker):
    # Given an event popped into a processing list no running version registered
    pipeline.enqueue([event(1)])
    orphan = f"{GP}{EVENTS_QUEUE}{bp.PROCESSING_MARK}old-host.99.0000"
    assert pipeline.redis.brpoplpush(queue_key(PREFIX), orphan, 1) is not None

    # When a worker starts
    worker = start_worker()

    # Then the event is applied, once
    pipeline.wait_finished(["c-1"], timeout_s=90, workers=[worker])
    assert not pipeline.redis.exists(orphan)
    assert len([c for c in ghl.objects("contacts") if c["phone"] == "+15125550001"]) == 1


def test_the_transport_refuses_priorities_and_a_second_queue_naming_them(redis_url):
    from kombu import Connection

    from worker.broker import DurablePopConfigError

    # Given priority levels configured: the channel refuses to open, naming the option
    with (Connection(redis_url, transport="worker.broker:Transport",
                     transport_options={"priority_steps": [0, 3, 6, 9]}) as conn,
          pytest.raises(DurablePopConfigError, match=r"priority_steps=\[0, 3, 6, 9\]")):
        conn.channel()

    # Given one queue consumed: a second is refused, both named
    with Connection(redis_url, transport="worker.broker:Transport") as conn:
        channel = conn.channel()
        channel.basic_consume("first", False, lambda m: None, "tag-1")
        with pytest.raises(DurablePopConfigError, match=r"\['first', 'second'\]"):
            channel.basic_consume("second", False, lambda m: None, "tag-2")


@contextmanager
def consuming(redis_url, **options):
    """A channel of the durable pop consuming the events queue (visibility timeout 9 s:
    alive key 3 s, refreshed every second); ``received`` gets each message delivered."""
    from kombu import Connection

    received: list = []
    with Connection(redis_url, transport="worker.broker:Transport",
                    transport_options={"global_keyprefix": GP, "visibility_timeout": 9,
                                       **options}) as conn:
        channel = conn.channel()
        channel.basic_consume(EVENTS_QUEUE, False, received.append, "tag-1")
        yield conn, channel, received


def drain_one(conn, received: list) -> object:
    before = len(received)
    wait_until_drained = 0
    while len(received) == before and wait_until_drained < 50:
        with suppress(socket.timeout, TimeoutError):
            conn.drain_events(timeout=0.2)
        wait_until_drained += 1
    assert len(received) == before + 1, "no message delivered"
    return received[-1]


def test_a_delivered_message_stays_in_the_processing_list_until_acknowledged(
        pipeline, redis_url):
    # Given a queued event
    pipeline.enqueue([event(1)])
    with consuming(redis_url) as (conn, channel, received):
        # When the transport delivers it
        message = drain_one(conn, received)
        processing = channel.processing_key(EVENTS_QUEUE)

        # Then it sits in the consumer's processing list, and in nothing of kombu's
        r = pipeline.redis
        assert r.llen(processing) == 1 and r.llen(queue_key(PREFIX)) == 0
        assert r.hlen(unacked_key(PREFIX)) == 0 and not r.exists(f"{GP}unacked_index")
        assert r.exists(bp.alive_key(processing))

        # and the acknowledgement removes it
        message.ack()
        assert r.llen(processing) == 0 and r.llen(queue_key(PREFIX)) == 0


def test_a_consumer_holding_a_message_without_popping_stays_alive(pipeline, redis_url):
    import time

    # Given a consumer holding an unacknowledged message and popping nothing more
    pipeline.enqueue([event(1)])
    with consuming(redis_url) as (conn, channel, received):
        message = drain_one(conn, received)
        processing = channel.processing_key(EVENTS_QUEUE)

        # When twice its alive key's lifetime passes, sweeps running
        for _ in range(6):
            time.sleep(1)
            assert bp.restore_dead(pipeline.redis, GP) == 0

        # Then the message is still its own, not back on the queue
        assert pipeline.redis.llen(processing) == 1
        assert pipeline.redis.llen(queue_key(PREFIX)) == 0
        message.ack()


def test_a_requeued_and_a_held_message_go_back_on_the_queue_once(pipeline, redis_url):
    # Given a consumer holding two messages
    pipeline.enqueue([event(1), event(2)])
    with consuming(redis_url) as (conn, channel, received):
        first = drain_one(conn, received)
        drain_one(conn, received)
        processing = channel.processing_key(EVENTS_QUEUE)

        # When it rejects one with requeue
        first.reject(requeue=True)
        assert pipeline.redis.llen(queue_key(PREFIX)) == 1
        assert pipeline.redis.llen(processing) == 1
        # and closes (a warm shutdown) holding the other
    # Then both are queued once, marked redelivered, and the consumer is gone
    queued = [json.loads(raw) for raw in pipeline.redis.lrange(queue_key(PREFIX), 0, -1)]
    assert sorted(m["headers"]["argsrepr"][:12] for m in queued) == sorted(
        m["headers"]["argsrepr"][:12] for m in [json.loads(x) for x in _raws(received)])
    assert all(m["headers"]["redelivered"] for m in queued)
    assert not pipeline.redis.exists(processing)
    assert not pipeline.redis.exists(bp.alive_key(processing))


def _raws(received: list) -> list[str]:
    return [json.dumps(m._raw) for m in received]


def test_a_message_left_unacknowledged_moves_to_kombus_unacked(pipeline, redis_url):
    from worker.broker import leave_in_broker

    # Given a consumer holding a message whose task could keep it nowhere
    pipeline.enqueue([event(1)])
    with consuming(redis_url) as (conn, channel, received):
        message = drain_one(conn, received)
        processing = channel.processing_key(EVENTS_QUEUE)

        # When it is left unacknowledged
        leave_in_broker(message)

        # Then it is in kombu's unacked (given back after the visibility timeout), once
        assert pipeline.redis.llen(processing) == 0
        assert pipeline.redis.hexists(unacked_key(PREFIX), message.delivery_tag)
    # and closing the channel does not give it back a second time
    assert pipeline.redis.llen(queue_key(PREFIX)) == 0
    assert pipeline.redis.hlen(unacked_key(PREFIX)) == 1


def test_an_acknowledgement_redis_refuses_is_retried(pipeline, redis_url):
    import redis

    # Given a consumer holding a message, and Redis refusing its first acknowledgement
    pipeline.enqueue([event(1)])
    with consuming(redis_url) as (conn, channel, received):
        message = drain_one(conn, received)
        processing = channel.processing_key(EVENTS_QUEUE)
        lrem, calls = channel._lrem, []

        def refused_once(*args):
            calls.append(args)
            if len(calls) == 1:
                raise redis.ConnectionError("connection reset by peer")
            return lrem(*args)

        channel._lrem = refused_once

        # When the message is acknowledged
        message.ack()

        # Then the acknowledgement is retried (by the alive key's thread) until it lands
        wait_until(lambda: pipeline.redis.llen(processing) == 0, 30,
                   "the acknowledgement retried")
        assert len(calls) == 2 and pipeline.redis.llen(queue_key(PREFIX)) == 0


def test_a_message_moved_while_the_pop_answer_was_lost_is_given_back(pipeline, redis_url):
    # Given a consumer whose pop's answer was lost (a connection broken): Redis moved
    # the message into its list, the consumer never read it
    pipeline.enqueue([event(1)])
    with consuming(redis_url) as (conn, channel, received):
        processing = channel.processing_key(EVENTS_QUEUE)
        channel._keep_alive(processing)
        assert pipeline.redis.brpoplpush(queue_key(PREFIX), processing, 1) is not None
        channel._unread_in_list = True

        # When it pops again
        message = drain_one(conn, received)

        # Then the unread message went back on the queue first and is delivered, once
        assert "c-1" in message._raw["headers"]["argsrepr"]
        assert pipeline.redis.llen(processing) == 1
        assert pipeline.redis.llen(queue_key(PREFIX)) == 0
        message.ack()
        assert pipeline.redis.llen(processing) == 0


def test_a_pop_answered_across_a_lapse_is_not_delivered_once_swept(pipeline, redis_url):
    from queue import Empty

    # Given a consumer whose pop is outstanding and whose alive key lapsed (its process
    # stalled: no refresh for longer than the key's lifetime) ...
    with consuming(redis_url) as (conn, channel, received):
        processing = channel.processing_key(EVENTS_QUEUE)
        with suppress(socket.timeout, TimeoutError):
            conn.drain_events(timeout=0.3)  # nothing queued: the pop stays outstanding
        keeper = channel._keep_alive(processing)
        keeper.stop()
        pipeline.enqueue([event(1)])
        wait_until(lambda: pipeline.redis.llen(processing) == 1, 10, "Redis answering the pop")
        keeper._ok_at -= 60
        pipeline.redis.delete(bp.alive_key(processing))
        # ... and a sweep put the popped message back on the queue
        assert bp.restore_dead(pipeline.redis, GP) == 1

        # When the consumer reads the pop's answer
        with pytest.raises(Empty):
            channel._brpop_read()

        # Then it does not deliver it: the message is on the queue once, for another
        assert received == [] and pipeline.redis.llen(queue_key(PREFIX)) == 1
        assert pipeline.redis.llen(processing) == 0
