"""Our task messages against Celery's and kombu's own code (no broker needed).

``contract.celery_message`` builds what ``celery.app.amqp.as_task_v2`` and
kombu's virtual channel build; these tests fail when a Celery or kombu upgrade
changes the format.
"""

from __future__ import annotations

import json

import pytest
from celery import Celery
from celery.worker.request import Request
from kombu import Connection
from kombu.transport.virtual import Message

from contract.celery_message import task_message
from contract.constants import APPLY_EVENT_TASK, EVENTS_QUEUE

EVENT = {"id": "e-1", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
         "data": {"callid": "c-1", "direction": "inbound", "state": "missed", "note": "Señor ✓"}}


@pytest.fixture
def ours():
    raw = task_message(APPLY_EVENT_TASK, [EVENT], queue=EVENTS_QUEUE,
                       argsrepr="call.ended call:c-1 evt=e-1", origin="producer1@host")
    return json.loads(raw)


@pytest.fixture
def app():
    app = Celery("probe", set_as_current=False)

    @app.task(name=APPLY_EVENT_TASK, shared=False)
    def apply_event(event):
        return event

    return app


def test_headers_are_celerys_protocol_2_headers(ours, app):
    # Given Celery's own message for the same task
    theirs = app.amqp.as_task_v2("tid", APPLY_EVENT_TASK, args=[EVENT], kwargs={},
                                 argsrepr="call.ended call:c-1 evt=e-1", kwargsrepr="{}")
    # When the headers are compared
    # Then they have the same keys and, apart from ids and origin, the same values
    assert list(ours["headers"]) == list(theirs.headers)
    skip = {"id", "root_id", "origin"}
    assert {k: v for k, v in ours["headers"].items() if k not in skip} == {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in theirs.headers.items() if k not in skip}


def test_kombu_decodes_the_body_and_delivery_info(ours):
    # Given kombu's virtual-transport message class (what the Redis transport uses)
    with Connection("memory://") as connection:
        # When it reads our message
        message = Message(ours, channel=connection.default_channel)
        body = message.decode()
    # Then the body is [args, kwargs, embed] and the delivery info names the queue
    assert body == [[EVENT], {}, {"callbacks": None, "errbacks": None, "chain": None,
                                  "chord": None}]
    assert message.delivery_info == {"exchange": "", "routing_key": EVENTS_QUEUE}
    assert message.delivery_tag == ours["properties"]["delivery_tag"]


def test_a_celery_worker_request_sees_the_task_args_and_label(ours, app):
    # Given the message as the worker's consumer receives it
    with Connection("memory://") as connection:
        message = Message(ours, channel=connection.default_channel)
        # When Celery's worker builds its Request from it
        request = Request(message, app=app)
    # Then it is our task with the event as its only argument and the label as argsrepr
    assert request.task_name == APPLY_EVENT_TASK
    assert request.id == ours["headers"]["id"] == ours["properties"]["correlation_id"]
    assert request.args == [EVENT] and request.kwargs == {}
    assert request.argsrepr == "call.ended call:c-1 evt=e-1" and request.kwargsrepr == "{}"
    assert request.eta is None and request.expires is None
