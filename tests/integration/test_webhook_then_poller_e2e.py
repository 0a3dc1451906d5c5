"""End to end: Toky posts a call to the webhook, the poller finds the same call later,
a real worker applies what was queued to the GHL simulator: ONE note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clients.toky import TokyClient
from producers.poller import Poller
from producers.queue import EventPublisher
from producers.webhook import create_app
from simulators.serve import serve_in_thread
from simulators.toky import TokySim
from simulators.toky import create_app as create_toky_app
from tests.integration.harness import PREFIX

pytestmark = pytest.mark.integration

KEY = "sim-key-e2e"
SECRET = "whsec-E2e-0123456789abcdef"
CALLER = "+15125550177"


def test_webhook_then_poller_makes_one_note_in_ghl(ghl, pipeline, start_worker):
    # Given a Toky account with one answered call, and a worker applying to GHL
    sim = TokySim(api_key=KEY)
    now = datetime.now(UTC).replace(microsecond=0)
    cdr = sim.add_call(from_number=CALLER, to_number="+15125550000", duration_s=61,
                       init_dt=now - timedelta(minutes=10),
                       recording_url="https://rec.example/e2e.mp3")
    start_worker()
    publisher = EventPublisher(pipeline.redis, key_prefix=PREFIX)
    receiver = create_app(secret=SECRET, publisher=publisher, redis_client=pipeline.redis)
    event_id = f"call-{cdr['callid']}"
    # When Toky posts the call to the webhook
    answer = receiver.test_client().post(
        "/webhooks/toky/inbound_call_ended", query_string={"token": SECRET},
        json={"callid": cdr["callid"], "direction": "inbound", "state": "completed",
              "from_number": CALLER, "to_number": "+15125550000", "duration": "61",
              "date": cdr["start_time"], "record_url": "https://rec.example/e2e.mp3"})
    pipeline.wait_finished([event_id])
    # and the poller, later, reads the same call from Toky
    with serve_in_thread(create_toky_app(sim)) as server:
        client = TokyClient(base_url=f"{server.url}/v1", api_key=KEY)
        report = Poller(client, pipeline.redis, publisher, key_prefix=PREFIX,
                        backfill_since=now - timedelta(days=1),
                        resources=("calls",)).poll_once()
    # Then the webhook queued it, the poller found it a repeat, and GHL has ONE note
    assert (answer.status_code, answer.get_json()["status"]) == (202, "queued")
    assert (report.counts.queued, report.counts.repeats) == (0, 1)
    assert pipeline.dead_letters() == []
    notes = [n["body"] for n in ghl.children_of("notes", CALLER)]
    assert len(notes) == 1
    assert cdr["callid"] in notes[0] and "https://rec.example/e2e.mp3" in notes[0]
