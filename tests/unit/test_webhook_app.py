"""The webhook receiver through Flask's test client, with fakeredis: every answer of
contract section 4."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import fakeredis
import pytest
import structlog

from producers.queue import EventPublisher
from producers.webhook import create_app
from tests.unit.poller_support import PREFIX, queued_events, queued_ids
from toky_ghl.errors import ConfigError
from toky_ghl.keys import queue_key

SECRET = "whsec-Unit-0123456789abcdef"
NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CALL = {
    "callid": "8c1e5d02-aaaa", "direction": "inbound", "state": "completed",
    "from_number": "+15125550101", "to_number": "+15125550000", "duration": "22",
    "date": "2026-11-20 11:58:00", "agent": "ana@demo.example", "agent_name": "Ana",
    "record_url": "https://rec.example/1.mp3", "record_url_raw": "", "web_call": "no",
    "contact_name": "Ana López", "contact_email": "",
}


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def redis_client(server):
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def http(redis_client):
    app = create_app(secret=SECRET, publisher=EventPublisher(redis_client, key_prefix=PREFIX),
                     redis_client=redis_client, max_body_bytes=2048, clock=lambda: NOW)
    app.testing = True
    return app.test_client()


def post(http, event: str, body=None, *, token: str | None = SECRET, **kwargs):
    query = {"token": token} if token is not None else {}
    if body is not None and "data" not in kwargs:
        kwargs["json"] = body
    return http.post(f"/webhooks/toky/{event}", query_string=query, **kwargs)


def test_a_call_is_validated_queued_and_answered_202(http, redis_client):
    # Given a completed inbound call payload
    # When Toky posts it with the token in the URL
    answer = post(http, "inbound_call_ended", CALL)
    # Then 202 with the event id, and the queued event is the contract's call.ended
    assert answer.status_code == 202
    assert answer.get_json() == {"status": "queued", "event_id": "call-8c1e5d02-aaaa"}
    [event] = queued_events(redis_client)
    assert (event["type"], event["occurred_at"]) == ("call.ended", "2026-11-20T11:58:00Z")
    assert event["data"]["duration"] == 22 and event["data"]["date"] == "2026-11-20T11:58:00Z"
    assert event["data"]["contact_name"] == "Ana López"


def test_the_same_webhook_twice_is_a_repeat_queued_once(http, redis_client):
    # Given a call already received
    post(http, "inbound_call_ended", CALL)
    # When Toky delivers it again
    answer = post(http, "inbound_call_ended", CALL)
    # Then 202 "repeat", and the queue holds it once
    assert answer.status_code == 202
    assert answer.get_json() == {"status": "repeat", "event_id": "call-8c1e5d02-aaaa"}
    assert queued_ids(redis_client) == ["call-8c1e5d02-aaaa"]


def test_a_form_encoded_body_is_accepted(http, redis_client):
    # Given the same call as a form-encoded body
    # When posted
    answer = post(http, "inbound_call_ended", data=CALL,
                  content_type="application/x-www-form-urlencoded")
    # Then it is queued like the JSON one
    assert answer.status_code == 202
    assert queued_ids(redis_client) == ["call-8c1e5d02-aaaa"]


def test_the_token_may_come_in_the_header(http, redis_client):
    # Given no token in the URL but the X-Webhook-Token header
    # When posted
    answer = post(http, "outbound_call_ended", {**CALL, "direction": "outbound"}, token=None,
                  headers={"X-Webhook-Token": SECRET})
    # Then it is accepted
    assert answer.status_code == 202
    assert queued_ids(redis_client) == ["call-8c1e5d02-aaaa"]


@pytest.mark.parametrize(("token", "headers"), [
    (None, {}), ("wrong-secret", {}), ("", {}), (None, {"X-Webhook-Token": "nope"}),
])
def test_a_missing_or_wrong_token_is_401_and_nothing_is_queued(http, redis_client, token,
                                                               headers):
    # Given a request without the right secret
    # When posted
    with structlog.testing.capture_logs() as logs:
        answer = post(http, "inbound_call_ended", CALL, token=token, headers=headers)
    # Then 401, nothing queued, and the attempt logged without the secret
    assert answer.status_code == 401
    assert redis_client.llen(queue_key(PREFIX)) == 0
    assert [entry["event"] for entry in logs] == ["webhook.unauthorized"]
    assert "wrong-secret" not in json.dumps(logs, default=str)
    assert SECRET not in json.dumps(logs, default=str)


def test_an_unhandled_event_is_404_naming_the_handled_ones(http):
    # Given an event the receiver does not handle
    # When posted
    answer = post(http, "new_call", CALL)
    # Then 404, with the events it does handle
    assert answer.status_code == 404
    assert answer.get_json()["handled"] == ["inbound_call_ended", "outbound_call_ended",
                                            "new_voicemail", "new_sms"]


def test_a_body_over_the_limit_is_413(http, redis_client):
    # Given a body of 3000 bytes (limit 2048)
    # When posted
    answer = post(http, "inbound_call_ended", {**CALL, "pad": "x" * 3000})
    # Then 413 and nothing queued
    assert answer.status_code == 413
    assert "2048" in answer.get_json()["error"]
    assert redis_client.llen(queue_key(PREFIX)) == 0


@pytest.mark.parametrize(("event", "body", "field"), [
    ("inbound_call_ended", {k: v for k, v in CALL.items() if k != "callid"}, "callid"),
    ("inbound_call_ended", {**CALL, "state": "ringing"}, "state"),
    ("inbound_call_ended", {**CALL, "from_number": "12"}, "from_number"),
    ("inbound_call_ended", {**CALL, "duration": "long"}, "duration"),
    ("inbound_call_ended", {**CALL, "date": "yesterday"}, "date"),
    ("new_voicemail", {"from_number": "+15125550101"}, "id"),
    ("new_voicemail", {"id": "v1"}, "from_number"),
    ("new_sms", {"id": "s1", "from_number": "+15125550101", "to_number": "+15125550000",
                 "text": "hi", "direction": "sideways"}, "direction"),
])
def test_a_malformed_payload_is_400_naming_the_field(http, redis_client, event, body, field):
    # Given a payload with one bad or missing field
    # When posted
    answer = post(http, event, body)
    # Then 400 names that field and nothing is queued
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field
    assert field in answer.get_json()["error"]
    assert redis_client.llen(queue_key(PREFIX)) == 0


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_no_object_is_400_naming_the_body(http, data):
    # Given a JSON body that does not parse or is not an object, or no body
    # When posted
    answer = post(http, "inbound_call_ended", data=data, content_type="application/json")
    # Then 400 names the body
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "body"


def test_voicemail_and_sms_map_to_their_events(http, redis_client):
    # Given a voicemail without a date and an outbound SMS
    post(http, "new_voicemail", {"id": "v1", "from_number": "+15125550199",
                                 "to_number": "+15125550000", "duration": "27"})
    post(http, "new_sms", {"id": "s1", "direction": "outbound", "from_number": "+15125550000",
                           "to_number": "+15125550101", "text": "Sure",
                           "date": "2026-11-20 11:00:00"})
    post(http, "new_sms", {"id": "s2", "from_number": "+15125550101",
                           "to_number": "+15125550000", "text": "Hi"})
    # When the queue is read
    events = {e["id"]: e for e in queued_events(redis_client)}
    # Then each has its type, and a payload without a date happened "now"
    assert events["voicemail-v1"]["type"] == "voicemail.created"
    assert events["voicemail-v1"]["occurred_at"] == "2026-11-20T12:00:00Z"
    assert events["sms-s1"]["type"] == "sms.sent"
    assert events["sms-s1"]["occurred_at"] == "2026-11-20T11:00:00Z"
    assert events["sms-s2"]["type"] == "sms.received"


def test_healthz_is_200_with_redis_and_503_without(http, server):
    # Given a receiver whose Redis answers
    healthy = http.get("/healthz")
    # When Redis goes away
    server.connected = False
    unhealthy = http.get("/healthz")
    # Then 200, then 503
    assert (healthy.status_code, unhealthy.status_code) == (200, 503)


def test_a_queue_failure_is_503_not_202(http, server):
    # Given Redis down
    server.connected = False
    # When a call is posted
    answer = post(http, "inbound_call_ended", CALL)
    # Then 503 (Toky may retry); nothing claims it was queued
    assert answer.status_code == 503


def test_the_receiver_refuses_to_start_without_a_secret(redis_client):
    # Given no WEBHOOK_SECRET
    # When the app is made
    # Then a ConfigError names the variable
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        create_app(secret=None, publisher=None, redis_client=redis_client)


def webhook_counts(redis_client) -> dict[str, int]:
    raw = redis_client.hgetall(f"{PREFIX}:metrics:webhook")
    return {k.decode(): int(v) for k, v in raw.items()}


def test_every_answer_is_counted_by_event_and_status_401s_apart(http, redis_client):
    # Given two accepted calls (one of them twice), a wrong token, a bad body and an
    # event the receiver does not handle, posted under made-up names too
    post(http, "inbound_call_ended", CALL)
    post(http, "inbound_call_ended", CALL)
    post(http, "outbound_call_ended", {**CALL, "callid": "other", "direction": "outbound"})
    for name in ("inbound_call_ended", "x-guess-1", "x-guess-2"):
        assert post(http, name, CALL, token="wrong").status_code == 401
    assert post(http, "inbound_call_ended", {"callid": ""}).status_code == 400
    assert post(http, "contact_created", CALL).status_code == 404
    # Then each answer is counted once by event name and status; names the receiver
    # does not handle count as "other" (a guesser cannot add series)
    assert webhook_counts(redis_client) == {
        "inbound_call_ended|202": 2, "outbound_call_ended|202": 1,
        "inbound_call_ended|401": 1, "other|401": 2,
        "inbound_call_ended|400": 1, "other|404": 1,
    }
