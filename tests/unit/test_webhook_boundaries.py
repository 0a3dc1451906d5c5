"""The webhook receiver's edges: near-miss tokens and authentication before routing.

Every near miss of the secret is a 401 and queues nothing; an unauthenticated caller
learns nothing else (not which events are handled, not the body limit).
"""

from __future__ import annotations

import fakeredis
import pytest

from producers.queue import EventPublisher
from producers.webhook import create_app
from producers.webhook.token import check_tokens
from tests.unit.poller_support import PREFIX, queued_ids

SECRET = "whsec-Edge-0123456789-abcdef"
CALL = {"callid": "edge-1", "direction": "inbound", "state": "missed",
        "from_number": "+15125550101", "to_number": "+15125550000"}
NEAR_MISSES = {
    "prefix": SECRET[:-1],
    "first half": SECRET[: len(SECRET) // 2],
    "one character": SECRET[0],
    "suffix added": SECRET + "0",
    "suffix only": SECRET[1:],
    "case": SECRET.swapcase(),
    "upper": SECRET.upper(),
    "trailing space": SECRET + " ",
    "leading space": " " + SECRET,
    "trailing newline": SECRET + "\n",
    "repeated": SECRET * 2,
    "empty": "",
}


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


@pytest.fixture
def http(redis_client):
    app = create_app(secret=SECRET, publisher=EventPublisher(redis_client, key_prefix=PREFIX),
                     redis_client=redis_client, max_body_bytes=2048)
    app.testing = True
    return app.test_client()


@pytest.mark.parametrize("token", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_a_near_miss_in_the_url_is_401_and_queues_nothing(http, redis_client, token):
    answer = http.post("/webhooks/toky/inbound_call_ended", query_string={"token": token},
                       json=CALL)
    assert answer.status_code == 401
    assert queued_ids(redis_client) == []


IN_A_HEADER = {k: t for k, t in NEAR_MISSES.items() if "\n" not in t}  # no newline in headers


@pytest.mark.parametrize("token", list(IN_A_HEADER.values()), ids=list(IN_A_HEADER))
def test_a_near_miss_in_the_header_is_401(http, redis_client, token):
    answer = http.post("/webhooks/toky/inbound_call_ended",
                       headers={"X-Webhook-Token": token}, json=CALL)
    assert answer.status_code == 401
    assert queued_ids(redis_client) == []


@pytest.mark.parametrize("token", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_check_tokens_refuses_every_near_miss(token):
    assert check_tokens([token], SECRET) in {"missing", "wrong"}


def test_the_exact_secret_passes_in_the_url_and_in_the_header(http, redis_client):
    # (the control: the near misses above fail for being near misses, not for the request)
    by_url = http.post("/webhooks/toky/inbound_call_ended", query_string={"token": SECRET},
                       json=CALL)
    by_header = http.post("/webhooks/toky/inbound_call_ended",
                          headers={"X-Webhook-Token": SECRET},
                          json={**CALL, "callid": "edge-2"})
    assert (by_url.status_code, by_header.status_code) == (202, 202)
    assert queued_ids(redis_client) == ["call-edge-1", "call-edge-2"]


@pytest.mark.parametrize("token", [None, "wrong", SECRET[:-1]], ids=["none", "wrong", "prefix"])
def test_an_unknown_event_without_the_secret_is_401_not_404(http, token):
    # Given a caller without the secret, posting to an event the receiver does not handle
    query = {} if token is None else {"token": token}
    answer = http.post("/webhooks/toky/no_such_event", query_string=query, json=CALL)
    # Then 401, and nothing says which events are handled
    assert answer.status_code == 401
    assert "handled" not in (answer.get_json() or {})
    assert b"inbound_call_ended" not in answer.data


@pytest.mark.parametrize("event", ["inbound_call_ended", "no_such_event"])
def test_a_body_over_the_limit_without_the_secret_is_401_not_413(http, redis_client, event):
    answer = http.post(f"/webhooks/toky/{event}", query_string={"token": "wrong"},
                       json={**CALL, "pad": "x" * 5000})
    assert answer.status_code == 401
    assert b"2048" not in answer.data
    assert queued_ids(redis_client) == []


def test_with_the_secret_the_same_requests_get_404_and_413(http):
    # (the control: with the secret, routing and the size limit do answer)
    unknown = http.post("/webhooks/toky/no_such_event", query_string={"token": SECRET},
                        json=CALL)
    too_big = http.post("/webhooks/toky/inbound_call_ended", query_string={"token": SECRET},
                        json={**CALL, "pad": "x" * 5000})
    assert (unknown.status_code, too_big.status_code) == (404, 413)
