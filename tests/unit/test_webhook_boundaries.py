"""The webhook receiver's edges: near-miss tokens and authentication before routing.

Every near miss of the secret is a 401 and queues nothing; an unauthenticated caller
learns nothing else (not which events are handled, not the body limit).
"""

from __future__ import annotations

import fakeredis
import pytest

from producers.queue import EventPublisher
from producers.webhook import create_app
from producers.webhook.token import (
    ENVIRON_KEY,
    MIN_SECRET_CHARS,
    HideToken,
    check_secret,
    check_tokens,
)
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


# -- the middleware that takes the token out of the request (producers/webhook/token.py) --


def hidden(environ: dict) -> dict:
    """The environ the app sees after HideToken."""
    seen: dict = {}

    def app(env, _start):
        seen.update(env)
        return []

    HideToken(app)(environ, lambda *a: None)
    return seen


def test_a_query_without_a_token_is_passed_on_untouched():
    raw = "a=%7e&b&c=1+2"
    seen = hidden({"QUERY_STRING": raw, "REQUEST_URI": f"/x?{raw}"})
    assert (seen["QUERY_STRING"], seen["REQUEST_URI"], seen[ENVIRON_KEY]) == (
        raw, f"/x?{raw}", [])


def test_only_a_token_leaves_no_question_mark_behind():
    seen = hidden({"QUERY_STRING": f"token={SECRET}", "REQUEST_URI": f"/x?token={SECRET}",
                   "RAW_URI": f"/x?token={SECRET}"})
    assert (seen["QUERY_STRING"], seen["REQUEST_URI"], seen["RAW_URI"]) == ("", "/x", "/x")
    assert seen[ENVIRON_KEY] == [SECRET]


def test_a_percent_encoded_token_name_is_taken_out_too():
    seen = hidden({"QUERY_STRING": f"%74oken={SECRET}&a=1",
                   "REQUEST_URI": f"/x?%74oken={SECRET}&a=1"})
    assert seen[ENVIRON_KEY] == [SECRET]
    assert (seen["QUERY_STRING"], seen["REQUEST_URI"]) == ("a=1", "/x?a=1")


def test_a_question_mark_inside_the_query_keeps_the_path_whole():
    seen = hidden({"QUERY_STRING": f"q=a?b&token={SECRET}",
                   "REQUEST_URI": f"/webhooks/toky/x?q=a?b&token={SECRET}"})
    assert seen["REQUEST_URI"] == "/webhooks/toky/x?q=a%3Fb"


def test_an_empty_token_beside_the_secret_is_a_second_token(http, redis_client):
    # "token=&token=SECRET" carries two tokens (one empty): one request is one guess
    answer = http.post(f"/webhooks/toky/inbound_call_ended?token=&token={SECRET}", json=CALL)
    assert answer.status_code == 401 and queued_ids(redis_client) == []
    assert hidden({"QUERY_STRING": f"token=&token={SECRET}"})[ENVIRON_KEY] == ["", SECRET]


def test_the_url_token_and_the_header_are_both_taken():
    seen = hidden({"QUERY_STRING": "token=a", "HTTP_X_WEBHOOK_TOKEN": "b"})
    assert seen[ENVIRON_KEY] == ["a", "b"] and "HTTP_X_WEBHOOK_TOKEN" not in seen


@pytest.mark.parametrize(("secret", "refusal"), [
    (None, "WEBHOOK_SECRET must be set: the receiver refuses to start without it"),
    ("   ", "WEBHOOK_SECRET must be set: the receiver refuses to start without it"),
    ("x" * (MIN_SECRET_CHARS - 1),
     f"WEBHOOK_SECRET is {MIN_SECRET_CHARS - 1} characters long; it must have at least "
     f"{MIN_SECRET_CHARS} (make one with: python -c 'import secrets; "
     "print(secrets.token_urlsafe(32))')"),
    ("x" * MIN_SECRET_CHARS, None),
])
def test_the_secret_is_refused_when_unset_or_shorter_than_the_minimum(secret, refusal):
    assert check_secret(secret) == refusal
