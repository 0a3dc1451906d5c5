"""The same call seen by the webhook and then by the poller is queued once: both derive
``call-{callid}``. And the other way round."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import pytest

from cli.commands import webhooks as webhooks_command
from producers.poller import Poller
from producers.queue import EventPublisher
from producers.webhook import HANDLED_EVENTS, create_app
from simulators.toky import TokySim
from simulators.toky import create_app as create_sim_app
from tests.unit.poller_support import KEY, PREFIX, T0, TOKY_LINE, queued_ids, sim_client

SECRET = "whsec-Both-0123456789abcdef"


@pytest.fixture
def setup():
    redis_client = fakeredis.FakeRedis()
    sim = TokySim(api_key=KEY, clock=lambda: T0)
    sim_app = create_sim_app(sim)
    publisher = EventPublisher(redis_client, key_prefix=PREFIX)
    receiver = create_app(secret=SECRET, publisher=publisher, redis_client=redis_client,
                          clock=lambda: T0).test_client()
    poller = Poller(sim_client(sim_app), redis_client, publisher, key_prefix=PREFIX,
                    backfill_since=T0 - timedelta(days=1), resources=("calls",),
                    clock=lambda: T0)
    return redis_client, sim, receiver, poller


def webhook_payload(cdr: dict) -> dict:
    return {"callid": cdr["callid"], "direction": "inbound", "state": "completed",
            "from_number": cdr["from"], "to_number": cdr["to_number"],
            "duration": cdr["duration"], "date": cdr["start_time"]}


def test_webhook_then_poller_queues_the_call_once(setup):
    redis_client, sim, receiver, poller = setup
    # Given a call Toky posted to the webhook
    cdr = sim.add_call(from_number="+15125550101", to_number=TOKY_LINE, duration_s=40,
                       init_dt=T0 - timedelta(minutes=3))
    answer = receiver.post("/webhooks/toky/inbound_call_ended",
                           query_string={"token": SECRET}, json=webhook_payload(cdr))
    # When the poller later finds its CDR
    report = poller.poll_once()
    # Then the queue holds the call once; the poller's copy counted as a repeat
    assert answer.get_json()["status"] == "queued"
    assert queued_ids(redis_client) == [f"call-{cdr['callid']}"]
    assert (report.counts.queued, report.counts.repeats) == (0, 1)


def test_poller_then_webhook_answers_repeat(setup):
    redis_client, sim, receiver, poller = setup
    # Given a call the poller queued first
    cdr = sim.add_call(from_number="+15125550101", to_number=TOKY_LINE, duration_s=40,
                       init_dt=T0 - timedelta(minutes=3))
    poller.poll_once()
    # When the webhook for it arrives late
    answer = receiver.post("/webhooks/toky/inbound_call_ended",
                           query_string={"token": SECRET}, json=webhook_payload(cdr))
    # Then it is a repeat and the queue still holds it once
    assert (answer.status_code, answer.get_json()["status"]) == (202, "repeat")
    assert queued_ids(redis_client) == [f"call-{cdr['callid']}"]


def test_the_cli_registers_exactly_the_events_the_receiver_handles():
    # Given the list the CLI keeps (so --help need not import Flask)
    # Then it is the receiver's
    assert webhooks_command.HANDLED_EVENTS == HANDLED_EVENTS
