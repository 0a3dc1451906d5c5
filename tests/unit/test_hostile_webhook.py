"""Hostile requests to the webhook receiver (Flask's test client, fakeredis): every answer
a 4xx naming what is wrong (or a 202 for what is valid), never a 500; what is queued
always validates again, with ids fit for a URL path. The named cases come from issue 10;
hypothesis then throws generated payloads and bodies at it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.events import object_key, validate_event
from contract.ids import is_toky_id
from producers.queue import EventPublisher
from producers.webhook import HANDLED_EVENTS, create_app
from tests.unit.poller_support import PREFIX, queued_events
from toky_ghl.errors import ConfigError
from worker.versions import occurred_at_us

SECRET = "whsec-Hostile-0123456789abcdef"
NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CALL = {"callid": "c-1", "direction": "inbound", "state": "completed",
        "from_number": "+15125550101", "to_number": "+15125550000", "duration": "22",
        "date": "2026-11-20 11:58:00"}


def _receiver():
    redis_client = fakeredis.FakeRedis()
    app = create_app(secret=SECRET, publisher=EventPublisher(redis_client, key_prefix=PREFIX),
                     redis_client=redis_client, max_body_bytes=262_144, clock=lambda: NOW)
    app.testing = True
    return app.test_client(), redis_client


@pytest.fixture
def receiver():
    return _receiver()


def post(http, event="inbound_call_ended", *, token=SECRET, query=None, **kwargs):
    query = query if query is not None else ([("token", token)] if token is not None else [])
    return http.post(f"/webhooks/toky/{event}", query_string=query, **kwargs)


def raw_json(http, text: str | bytes, event="inbound_call_ended"):
    return post(http, event, data=text, content_type="application/json")


def _deep(depth: int) -> str:
    return '{"callid": "c-deep", "x": ' + "[" * depth + "]" * depth + "}"


# -- the cases of the issue ------------------------------------------------------------


@pytest.mark.parametrize(("body", "field", "says"), [
    (_deep(50_000), "body", "nested too deeply"),
    (_deep(40), "x", "nested deeper than 32 levels"),
    (json.dumps({**CALL, "duration": 1}).replace('"duration": 1', '"duration": 1e999'),
     "duration", "out of range"),
    (json.dumps(CALL).replace('"22"', "9" * 400), "duration", "must be a number"),
    (json.dumps({**CALL, "duration": "9" * 400}), "duration", "must be a number"),
    (json.dumps({**CALL, "duration": 1e12}), "duration", "at most"),
    (json.dumps({**CALL, "date": "0001-01-01T00:00:00+01:00"}), "date", "year must be"),
    (json.dumps({**CALL, "date": "9999-12-31T23:59:59-05:00"}), "date", "year must be"),
    (json.dumps(CALL).replace('"22"', "NaN"), "body", "NaN is not allowed"),
    (json.dumps(CALL).replace('"22"', "-Infinity"), "body", "-Infinity is not allowed"),
    (json.dumps({**CALL, "callid": ".."}), "callid", "not a valid id"),
    (json.dumps({**CALL, "callid": "."}), "callid", "not a valid id"),
    (json.dumps({**CALL, "callid": "../../contacts"}), "callid", "not a valid id"),
    (json.dumps({**CALL, "callid": "x" * 129}), "callid", "not a valid id"),
    (b"\xff\xfe\x00{", "body", "not valid UTF-8"),
    ("[1, 2]", "body", "must be a JSON object"),
    ('"a string"', "body", "must be a JSON object"),
    ("null", "body", "must be a JSON object"),
    ("", "body", "empty"),
])
def test_each_hostile_body_is_a_400_naming_the_field(receiver, body, field, says):
    http, redis_client = receiver
    # Given a hostile body / When posted with the right token
    answer = raw_json(http, body)
    # Then 400 naming the field and saying why; nothing queued
    assert answer.status_code == 400, answer.get_data()[:300]
    assert answer.get_json()["field"].startswith(field)  # "x[0][0]…" names x too
    assert says in answer.get_json()["error"]
    assert queued_events(redis_client) == []


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/plain", b"callid=..&direction=inbound&state=completed"),
    ("application/xml", b"<call><callid>1</callid></call>"),
    ("application/x-www-form-urlencoded", b"\xff\xfe=="),
    ("application/x-www-form-urlencoded", b"duration=1e999&callid=c-2&direction=inbound"
                                          b"&state=completed&from_number=%2B15125550101"),
    ("multipart/form-data; boundary=zzz", b"--zzz\r\nbroken"),
    ("application/json; charset=latin-1", "{\"callid\": \"\u00e9\"}".encode("latin-1")),
])
def test_wrong_content_types_are_a_4xx_and_never_queued(receiver, content_type, body):
    http, redis_client = receiver
    answer = post(http, data=body, content_type=content_type)
    assert answer.status_code == 400, answer.get_data()[:300]
    assert queued_events(redis_client) == []


@pytest.mark.parametrize("event", ["A" * 5_000, "..", ".", "%2e%2e", "new_call",
                                   "inbound_call_ended.json", "inbound_call_ended%00"])
def test_unknown_event_names_are_404_and_the_answer_stays_short(receiver, event):
    http, _ = receiver
    answer = post(http, event, json=CALL)
    assert answer.status_code == 404
    assert len(answer.get_data()) < 1_000


@pytest.mark.parametrize("path", ["/webhooks/toky/../../healthz", "/webhooks/toky/a/b",
                                  "/webhooks/toky/", "/webhooks/toky/%2e%2e%2fhealthz"])
def test_path_traversal_finds_no_other_route(receiver, path):
    http, redis_client = receiver
    answer = http.post(path, query_string={"token": SECRET}, json=CALL)
    assert 400 <= answer.status_code < 500
    assert queued_events(redis_client) == []


def test_a_request_carrying_two_thousand_tokens_is_one_refused_guess(receiver):
    http, redis_client = receiver
    # Given 1,999 guesses and the secret in one request
    query = [("token", f"guess-{i}") for i in range(1_999)] + [("token", SECRET)]
    # When posted / Then 401: one request is one guess, whatever it carries
    answer = post(http, query=query, json=CALL)
    assert answer.status_code == 401
    assert "once" in answer.get_json()["error"]
    assert queued_events(redis_client) == []
    # And a token in the URL plus the header is refused too
    both = post(http, json=CALL, headers={"X-Webhook-Token": SECRET})
    assert both.status_code == 401


@pytest.mark.parametrize("secret", ["", "short", "x" * 23])
def test_a_short_webhook_secret_stops_start_up_naming_it(secret):
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        create_app(secret=secret, publisher=None, redis_client=fakeredis.FakeRedis())


# -- generated input ---------------------------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
            | st.floats(allow_nan=False) | st.text(max_size=40)
            | st.sampled_from(["", " ", ".", "..", "a/b", "1e999", "+15125550101",
                               "2026-11-20 11:58:00", "0001-01-01T00:00:00+01:00",
                               "inbound", "outbound", "completed", "missed", "c-1"]))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
_FIELDS = ["callid", "id", "direction", "state", "from_number", "to_number", "duration",
           "date", "agent", "text", "record_url", "country_code"]
#: A valid payload of each event, that generated values then override (so that most
#: examples get past the first missing field to the code that reads each value).
_VALID = {
    "inbound_call_ended": CALL, "outbound_call_ended": {**CALL, "direction": "outbound"},
    "new_voicemail": {"id": "vm-1", "from_number": "+15125550101", "duration": "9",
                      "date": "2026-11-20 11:58:00"},
    "new_sms": {"id": "sms-1", "from_number": "+15125550101", "to_number": "+15125550000",
                "text": "hi", "date": "2026-11-20 11:58:00"},
}
_overrides = st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=3)


def _check_queued(redis_client) -> None:
    """Every queued event validates again, unchanged, and its ids fit a URL path."""
    for event in queued_events(redis_client):
        assert validate_event(event) == event
        occurred_at_us(event["occurred_at"])
        kind, _, toky_id = object_key(event).partition(":")
        assert kind in ("call", "voicemail", "sms") and is_toky_id(toky_id), toky_id


_FUZZ = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_FUZZ
@given(event=st.sampled_from(HANDLED_EVENTS), overrides=_overrides,
       as_form=st.booleans())
def test_generated_payloads_get_202_or_400_and_only_valid_events_are_queued(event, overrides,
                                                                            as_form):
    http, redis_client = _receiver()
    payload = {**_VALID[event], **overrides}
    if as_form:  # the same fields form-encoded: every value a string
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        answer = post(http, event, data=form)
    else:
        answer = post(http, event, json=payload)
    assert answer.status_code in (202, 400), (answer.status_code, answer.get_data()[:300])
    if answer.status_code == 400:
        assert answer.get_json()["field"]
        assert queued_events(redis_client) == []
    _check_queued(redis_client)


@_FUZZ
@given(body=st.binary(max_size=300),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "text/plain", "multipart/form-data", "", "a/b+json"]),
       event=st.sampled_from([*HANDLED_EVENTS, "x", ""]))
def test_generated_bodies_are_never_a_5xx(body, content_type, event):
    http, redis_client = _receiver()
    answer = post(http, event, data=body, content_type=content_type)
    assert answer.status_code in (202, 400, 404, 405), (answer.status_code,
                                                        answer.get_data()[:300])
    _check_queued(redis_client)
