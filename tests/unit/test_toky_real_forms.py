"""The poller and the webhook receiver against every form Toky's sources document
(the simulator serves each): outbound CDRs with the agent in ``from``, web calls
without a number, agent ids with ``__`` and ``@``, the recording URL under each
key, and a date filter whose times Toky may honour, ignore or refuse."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import pytest

from clients.toky.agents import agent_email
from producers.poller import Poller
from producers.queue import EventPublisher
from simulators.toky import TokySim, create_app
from simulators.toky.state import FILTER_TIME_MODES, RECORDING_KEYS
from tests.unit.poller_support import KEY, PREFIX, T0, TOKY_LINE, queued_events, sim_client

CUSTOMER = "+15125550102"


@pytest.fixture
def sim():
    return TokySim(api_key=KEY, clock=lambda: T0)


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


@pytest.fixture
def poll(sim, redis_client):
    app = create_app(sim)
    app.testing = True

    def once(at=T0, since=T0 - timedelta(days=2)):
        poller = Poller(sim_client(app), redis_client,
                        EventPublisher(redis_client, key_prefix=PREFIX), key_prefix=PREFIX,
                        backfill_since=since, resources=("calls",), clock=lambda: at)
        return poller.poll_once()
    return once


def calls(redis_client) -> list[dict]:
    return [e["data"] for e in queued_events(redis_client) if e["type"] == "call.ended"]


@pytest.mark.parametrize("agent_form", ["toky", "email"])
def test_an_outbound_cdr_reaches_the_queue_with_the_customer_as_to_number(
        sim, poll, redis_client, agent_form):
    # Given an answered outbound call whose CDR has the agent in `from` (Toky's id form
    # carlos__acme.com, or a plain email) and our line in caller_id_used
    row = sim.add_call(direction="outbound", from_number=TOKY_LINE, to_number=CUSTOMER,
                       agent="Carlos@Acme.com", agent_form=agent_form,
                       init_dt=T0 - timedelta(minutes=5))
    assert row["from"] == ("Carlos__Acme.com" if agent_form == "toky" else "Carlos@Acme.com")
    # When the poller polls
    report = poll()
    # Then the call is queued (not refused), from our line to the customer, with the agent
    assert report.counts.invalid == 0 and report.counts.queued == 1
    (data,) = calls(redis_client)
    assert (data["direction"], data["from_number"], data["to_number"]) == (
        "outbound", TOKY_LINE, CUSTOMER)
    assert data["agent"] == "carlos@acme.com"


def test_a_web_call_without_a_number_is_queued_not_refused(sim, poll, redis_client):
    # Given an inbound web call: `from` is a web caller id, no number at all
    sim.add_call(direction="inbound", from_number="", to_number=TOKY_LINE, web_call=True,
                 web_caller_id="webcaller_9f2c", disposition_code=487,
                 init_dt=T0 - timedelta(minutes=5))
    # When the poller polls
    report = poll()
    # Then it is queued without a from_number (the worker skips it with a reason)
    assert report.counts.invalid == 0 and report.counts.queued == 1
    (data,) = calls(redis_client)
    assert "from_number" not in data
    assert (data["from_raw"], data["web_call"]) == ("webcaller_9f2c", "yes")


@pytest.mark.parametrize("key", RECORDING_KEYS)
def test_the_recording_url_is_read_under_each_documented_key(sim, poll, redis_client, key):
    # Given Toky answering /recordings/{callid} with the URL under `key`
    sim.configure(recording_key=key)
    sim.add_call(direction="inbound", from_number=CUSTOMER, to_number=TOKY_LINE,
                 recording_url="https://rec.example/c.mp3", init_dt=T0 - timedelta(minutes=5))
    # When the poller polls
    poll()
    # Then the event carries the URL
    (data,) = calls(redis_client)
    assert data["record_url"] == "https://rec.example/c.mp3"


@pytest.mark.parametrize("mode", FILTER_TIME_MODES)
def test_polls_are_right_whether_toky_honours_ignores_or_refuses_a_time(
        sim, poll, redis_client, mode):
    # Given Toky treating a time in the filter as `mode`, and calls on both sides of a poll
    sim.configure(filter_times=mode)
    first = sim.add_call(direction="inbound", from_number=CUSTOMER, to_number=TOKY_LINE,
                         init_dt=T0 - timedelta(hours=3))
    poll(at=T0)
    later = sim.add_call(direction="inbound", from_number="+15125550103", to_number=TOKY_LINE,
                         init_dt=T0 + timedelta(minutes=10))
    # When the poller polls again later (its cursor now inside the same day)
    report = poll(at=T0 + timedelta(minutes=20))
    # Then every call is queued exactly once, in every mode
    ids = [e["id"] for e in queued_events(redis_client)]
    assert sorted(ids) == sorted([f"call-{first['callid']}", f"call-{later['callid']}"])
    assert not report.failures


def test_the_filter_sent_carries_dates_only(sim, poll):
    # Given a Toky that refuses any time in its filter (dates only, as documented)
    sim.configure(filter_times="reject")
    sim.add_call(direction="inbound", from_number=CUSTOMER, to_number=TOKY_LINE,
                 init_dt=T0 - timedelta(minutes=5))
    # When the poller polls
    report = poll()
    # Then Toky accepted every request (none refused for a time) and the call came
    assert not report.failures and report.counts.queued == 1


@pytest.mark.parametrize(("raw", "email"), [
    ("carlos__myagent.com", "carlos@myagent.com"),
    ("Carlos@MyAgent.com", "carlos@myagent.com"),
    ("ana__maria__acme.com", "ana__maria@acme.com"),
    (" sam__company.test ", "sam@company.test"),
    ("+15125550000", None),
    ("webcaller_9f2c", None),
    ("", None),
    (None, None),
])
def test_agent_ids_in_both_spellings_name_the_same_email(raw, email):
    # Given an agent as Toky's REST answers (__) or its webhooks (@) write it
    # When / Then it reads as the agent's lower-cased email (None: not an agent)
    assert agent_email(raw) == email


# -- the webhook receiver ---------------------------------------------------------------

WEBHOOK_SECRET = "whsec-Unit-0123456789-abcdef"


@pytest.fixture
def webhook(redis_client):
    from producers.webhook import create_app as webhook_app

    app = webhook_app(secret=WEBHOOK_SECRET,
                      publisher=EventPublisher(redis_client, key_prefix=PREFIX),
                      redis_client=redis_client, max_body_bytes=4096, clock=lambda: T0)
    app.testing = True
    return app.test_client()


@pytest.mark.parametrize(("extra", "from_number"), [
    ({"caller_phone_number": CUSTOMER}, CUSTOMER),
    ({}, None),
])
def test_a_web_call_webhook_is_accepted_with_the_widget_callers_number_when_given(
        webhook, redis_client, extra, from_number):
    # Given an inbound web-widget call whose from_number is a web caller id
    body = {"callid": "w-1", "direction": "inbound", "state": "missed",
            "from_number": "webcaller_9f2c", "to_number": TOKY_LINE, "web_call": "yes",
            "agent": "Sam__Company.test", **extra}
    # When Toky posts it
    answer = webhook.post("/webhooks/toky/inbound_call_ended",
                          query_string={"token": WEBHOOK_SECRET}, json=body)
    # Then it is queued (202), the customer's number taken from the widget when there is
    # one, and the agent read as an email
    assert answer.status_code == 202, answer.get_json()
    (data,) = calls(redis_client)
    assert data.get("from_number") == from_number
    assert data["from_raw"] == "webcaller_9f2c"
    assert data["agent"] == "sam@company.test"


def test_voicemail_and_sms_agents_in_tokys_id_form_read_as_emails():
    from producers.records.messages import sms_event, voicemail_event

    # Given a voicemail and an SMS whose agent is written as Toky's REST answers write it
    voicemail = voicemail_event({"id": "v1", "from_number": CUSTOMER, "date": "2026-11-20 10:00:00",
                                 "agent": "Sam__Company.test"})
    sms = sms_event({"id": "s1", "direction": "outbound", "from_number": TOKY_LINE,
                     "to_number": CUSTOMER, "text": "hi", "date": "2026-11-20 10:00:00",
                     "agent": "sam__company.test"})
    # When / Then both name the agent by email
    assert voicemail["data"]["agent"] == sms["data"]["agent"] == "sam@company.test"
