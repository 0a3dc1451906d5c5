"""The Toky client against a strict HTTP stub (any request not registered fails)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import requests
import responses
from responses import matchers

from clients.http_policy import parse_retry_after_s
from clients.toky import (
    TokyAuthError,
    TokyClient,
    TokyConflictError,
    TokyConnectionError,
    TokyError,
    TokyNotFoundError,
    TokyRateLimitedError,
    TokyServerError,
    TokyValidationError,
    created_between,
)
from toky_ghl.errors import ConfigError
from toky_ghl.settings import Settings

BASE = "https://api.toky.test/v1"
KEY = "tk_live_S3cretKey42"


def envelope(rows: list[dict], next_url: str | None = None) -> dict:
    return {"count": len(rows), "next": next_url, "results": rows}


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as stub:
        yield stub


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> TokyClient:
    return TokyClient(base_url=BASE, api_key=KEY, max_attempts=4, backoff_base_ms=100,
                      backoff_cap_ms=30_000, sleep=sleeps.append, rand=lambda: 0.5)


def one_shot_client() -> TokyClient:
    return TokyClient(base_url=BASE, api_key=KEY, max_attempts=1, sleep=lambda _s: None)


# -- auth and configuration ------------------------------------------------------


def test_every_request_carries_the_key_in_x_toky_key(http, client):
    # Given Toky answers /agents only when the key is in X-Toky-Key
    http.get(f"{BASE}/agents", json=envelope([{"email": "a@x.example"}]),
             match=[matchers.header_matcher({"X-Toky-Key": KEY})])
    # When the agents are listed
    agents = client.agents()
    # Then the request was authenticated and the agent returned
    assert agents == [{"email": "a@x.example"}]


def test_from_settings_without_key_fails_with_actionable_message():
    # Given settings without TOKY_API_KEY
    settings = Settings.from_env({})
    # When / Then building a client names the variable to set
    with pytest.raises(ConfigError, match="TOKY_API_KEY must be set"):
        TokyClient.from_settings(settings)


def test_from_settings_uses_base_and_key(http):
    # Given settings with a base URL and a key
    settings = Settings.from_env({"TOKY_API_BASE": BASE + "/", "TOKY_API_KEY": KEY})
    http.get(f"{BASE}/webhooks", json=[], match=[matchers.header_matcher({"X-Toky-Key": KEY})])
    # When the client lists webhooks
    client = TokyClient.from_settings(settings)
    # Then it talks to that base with that key (a bare list is one page)
    assert client.webhooks() == []
    assert client.base_url == BASE


# -- pagination ------------------------------------------------------------------------


def test_iter_results_follows_next_across_three_pages(http, client):
    # Given three pages of CDRs linked by absolute next URLs
    for offset, next_offset in ((0, 2), (2, 4), (4, None)):
        rows = [{"id": str(offset + 1)}, {"id": str(offset + 2)}][: 1 if next_offset is None else 2]
        next_url = f"{BASE}/cdrs?limit=2&offset={next_offset}" if next_offset else None
        http.get(f"{BASE}/cdrs", json=envelope(rows, next_url),
                 match=[matchers.query_param_matcher({"limit": "2", "offset": str(offset)})])
    # When every CDR is read with pages of 2
    ids = [row["id"] for row in client.cdrs(page_size=2)]
    # Then all three pages were fetched in order, and the walk stopped at next = null
    assert ids == ["1", "2", "3", "4", "5"]
    assert len(http.calls) == 3


def test_page_size_above_500_is_capped_at_500(http, client):
    # Given Toky answers only a limit of 500
    http.get(f"{BASE}/voicemails", json=envelope([]),
             match=[matchers.query_param_matcher({"limit": "500", "offset": "0"})])
    # When voicemails are read with a page size of 2000
    rows = list(client.voicemails(page_size=2000))
    # Then the request asked for 500
    assert rows == []


def test_next_link_to_another_host_is_sent_to_base_host_only(http, client):
    # Given a first page whose next link names a different host
    http.get(f"{BASE}/contacts", json=envelope([{"phone": "+1"}],
                                               "http://evil.example/v1/contacts?offset=1"),
             match=[matchers.query_param_matcher({"limit": "500", "offset": "0"})])
    http.get(f"{BASE}/contacts", json=envelope([{"phone": "+2"}]),
             match=[matchers.query_param_matcher({"offset": "1"})])
    # When the contacts are read
    phones = [c["phone"] for c in client.contacts()]
    # Then the second page came from the base host (the key never left it)
    assert phones == ["+1", "+2"]
    assert all(call.request.url.startswith(BASE) for call in http.calls)


def test_repeated_next_link_raises_instead_of_looping(http, client):
    # Given a page whose next link points at itself
    url = f"{BASE}/sms?limit=500&offset=0"
    http.get(url, json=envelope([{"id": "1"}], url))
    # When / Then reading stops with an error
    with pytest.raises(TokyError, match="repeats"):
        list(client.sms())


# -- the date filter -------------------------------------------------------------------


def test_created_between_dates_has_the_reference_form():
    # Given / When a filter for two dates / Then it reads as in Toky's docs
    assert created_between(date(2017, 6, 1), date(2017, 6, 2)) == (
        "(created_at >= 2017-06-01) AND (created_at <= 2017-06-02)"
    )


def test_created_between_sends_only_the_gmt_days_of_datetimes():
    # Given an aware time at UTC-5 (21:46:44 GMT on 5 July) and a naive end (GMT)
    start = datetime(2017, 7, 5, 16, 46, 44, tzinfo=timezone(timedelta(hours=-5)))
    end = datetime(2017, 7, 6, 10, 0, 0)
    # When / Then only dates are sent (Toky documents dates only): the start's GMT day,
    # and the day after the end's (a bare date may be read as its midnight)
    assert created_between(start, end) == (
        "(created_at >= 2017-07-05) AND (created_at <= 2017-07-07)"
    )
    assert created_between(None, end) == "(created_at <= 2017-07-07)"
    with pytest.raises(ValueError):
        created_between(None, None)


def test_cdrs_since_until_sends_dates_and_drops_rows_outside_the_exact_range(http, client):
    # Given Toky is asked for 1 to 2 June 2017 by date, and answers the whole days
    expected = "(created_at >= 2017-06-01) AND (created_at <= 2017-06-03)"
    rows = [{"id": "3", "init_dt": "2017-06-02 18:00:00"},
            {"id": "2", "init_dt": "2017-06-01 12:00:00"},
            {"id": "1", "init_dt": "2017-06-01 08:00:00"}]
    http.get(f"{BASE}/cdrs", json=envelope(rows), match=[matchers.query_param_matcher(
        {"limit": "500", "offset": "0", "filter": expected})])
    # When CDRs are read from 10:00 on 1 June to 12:00 on 2 June (GMT)
    got = list(client.cdrs(since=datetime(2017, 6, 1, 10, tzinfo=UTC),
                           until=datetime(2017, 6, 2, 12, tzinfo=UTC)))
    # Then the request carried dates only, and only the row inside the range is kept
    assert [row["id"] for row in got] == ["2"]


# -- retries ---------------------------------------------------------------------------


def test_429_is_retried_after_retry_after_seconds(http, client, sleeps):
    # Given a 429 with Retry-After: 2, then a page
    http.get(f"{BASE}/agents", status=429, headers={"Retry-After": "2"}, json={"error": "slow"})
    http.get(f"{BASE}/agents", json=envelope([{"email": "a@x.example"}]))
    # When the agents are listed
    agents = client.agents()
    # Then the client waited the hinted 2 s once and got the page
    assert agents == [{"email": "a@x.example"}]
    assert sleeps == [2.0]


def test_retry_after_is_capped(http, sleeps):
    # Given a cap of 1 s and a 429 asking for an hour
    client = TokyClient(base_url=BASE, api_key=KEY, backoff_cap_ms=1000, sleep=sleeps.append)
    http.get(f"{BASE}/agents", status=429, headers={"Retry-After": "3600"})
    http.get(f"{BASE}/agents", json=[])
    # When the agents are listed
    client.agents()
    # Then the wait was the cap
    assert sleeps == [1.0]


def test_5xx_is_retried_with_full_jitter_backoff(http, client, sleeps):
    # Given 503, then 500, then a page; rand pinned at 0.5, base 100 ms
    http.get(f"{BASE}/agents", status=503)
    http.get(f"{BASE}/agents", status=500)
    http.get(f"{BASE}/agents", json=[])
    # When the agents are listed
    client.agents()
    # Then the waits were 0.5 x 100 ms, then 0.5 x 200 ms
    assert sleeps == [0.05, 0.1]
    assert len(http.calls) == 3


def test_gives_up_after_max_attempts(http, client, sleeps):
    # Given Toky keeps answering 502
    http.get(f"{BASE}/agents", status=502)
    # When / Then after 4 attempts (3 waits) the server error is raised
    with pytest.raises(TokyServerError) as caught:
        client.agents()
    assert caught.value.status == 502
    assert len(http.calls) == 4
    assert len(sleeps) == 3


def test_401_is_not_retried_and_says_check_the_key(http, client, sleeps):
    # Given Toky refuses the key
    http.get(f"{BASE}/cdrs", status=401, json={"error": "Invalid API key"})
    # When / Then one attempt, no wait, and an actionable message
    with pytest.raises(TokyAuthError) as caught:
        list(client.cdrs())
    assert "check TOKY_API_KEY" in str(caught.value)
    assert "admin" in str(caught.value)
    assert len(http.calls) == 1
    assert sleeps == []


def test_post_is_not_retried_on_5xx(http, client, sleeps):
    # Given a 503 on contact creation (it may have been applied)
    http.post(f"{BASE}/contacts", status=503)
    # When / Then the error is raised at once
    with pytest.raises(TokyServerError):
        client.create_contact({"phone": "+15125550101"})
    assert len(http.calls) == 1
    assert sleeps == []


def test_post_is_retried_when_the_connection_never_opened(http, client, sleeps):
    # Given the first connect attempt times out, then Toky creates the contact
    http.post(f"{BASE}/contacts", body=requests.exceptions.ConnectTimeout("connect timed out"))
    http.post(f"{BASE}/contacts", status=201, json={"phone": "+15125550101"})
    # When a contact is created
    created = client.create_contact({"phone": "+15125550101"})
    # Then it was sent again and created once
    assert created == {"phone": "+15125550101"}
    assert len(sleeps) == 1


def test_post_is_not_retried_when_the_answer_was_lost(http, client):
    # Given the request went out but no answer came in time
    http.put(f"{BASE}/contacts/%2B15125550101", body=requests.exceptions.ReadTimeout("read"))
    # When / Then the update is not sent twice
    with pytest.raises(TokyConnectionError) as caught:
        client.update_contact("+15125550101", {"city": "Austin"})
    assert caught.value.request_sent is True
    assert len(http.calls) == 1


def test_get_is_retried_on_a_lost_connection(http, client):
    # Given the connection drops once
    http.get(f"{BASE}/agents", body=requests.exceptions.ConnectionError("reset by peer"))
    http.get(f"{BASE}/agents", json=[{"email": "a@x.example"}])
    # When / Then the read is retried
    assert client.agents() == [{"email": "a@x.example"}]


@pytest.mark.parametrize(("status", "error_class"), [
    (400, TokyValidationError), (401, TokyAuthError), (403, TokyAuthError),
    (404, TokyNotFoundError), (409, TokyConflictError), (422, TokyValidationError),
    (429, TokyRateLimitedError), (500, TokyServerError), (503, TokyServerError),
    (418, TokyError),
])
def test_each_status_maps_to_its_error_class(http, status, error_class):
    # Given Toky answers the status
    http.get(f"{BASE}/agents", status=status, json={"error": "nope"})
    # When / Then the matching error, carrying the request, is raised
    with pytest.raises(TokyError) as caught:
        one_shot_client().agents()
    assert type(caught.value) is error_class
    assert (caught.value.status, caught.value.method) == (status, "GET")
    assert caught.value.path.startswith("/agents")


def test_the_key_is_never_in_an_error_or_a_repr(http):
    # Given Toky echoes the key back in its error body
    http.get(f"{BASE}/agents", status=403, json={"error": f"key {KEY} is not an admin key"})
    client = one_shot_client()
    # When the call fails
    with pytest.raises(TokyAuthError) as caught:
        client.agents()
    # Then neither the error nor the client shows the key
    error = caught.value
    for text in (str(error), repr(error), error.message, repr(error.args), repr(client)):
        assert KEY not in text
    assert "***" in error.message


def test_a_hook_token_echoed_by_toky_is_not_in_the_error(http):
    # Given Toky echoes the hook URL, with its secret token, in a 400
    hook = "https://hooks.example/webhooks/toky/new_call?token=hook-s3cret-value"
    http.post(f"{BASE}/webhooks", status=400, json={"error": f"bad hook_url {hook}"})
    # When / Then the error does not carry the token
    with pytest.raises(TokyValidationError) as caught:
        one_shot_client().register_webhook("new_call", hook)
    assert "hook-s3cret-value" not in str(caught.value)


def test_parse_retry_after_reads_http_dates():
    # Given a Retry-After date 30 s after "now"
    now_s = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC).timestamp()
    # When / Then it is 30 s; garbage is None
    assert parse_retry_after_s("Thu, 26 Nov 2026 12:00:30 GMT", now_s=now_s) == 30.0
    assert parse_retry_after_s("soon", now_s=now_s) is None


# -- resources -------------------------------------------------------------------------


def test_recording_url_reads_the_url_key_and_none_when_missing(http, client):
    # Given one call with a recording and one without
    http.get(f"{BASE}/recordings/abc-1", json={"url": "https://rec.example/abc-1.mp3"})
    http.get(f"{BASE}/recordings/abc-2", status=404, json={"error": "no recording"})
    # When / Then
    assert client.recording_url("abc-1") == "https://rec.example/abc-1.mp3"
    assert client.recording_url("abc-2") is None


def test_get_contact_by_encoded_phone_and_none_when_absent(http, client):
    # Given one known phone
    http.get(f"{BASE}/contacts/%2B15125550101", json={"phone": "+15125550101"})
    http.get(f"{BASE}/contacts/%2B15125550199", status=404, json={"error": "no contact"})
    # When / Then
    assert client.get_contact("+15125550101") == {"phone": "+15125550101"}
    assert client.get_contact("+15125550199") is None


def test_register_and_delete_webhook(http, client):
    # Given Toky registers a hook from event + hook_url and deletes it by id
    http.post(f"{BASE}/webhooks", status=201, json={"id": "77"}, match=[
        matchers.json_params_matcher({"event": "new_sms", "hook_url": "https://h.example/x"})])
    http.delete(f"{BASE}/webhooks/77", status=204)
    # When a hook is registered, then deleted
    hook = client.register_webhook("new_sms", "https://h.example/x")
    client.delete_webhook(hook["id"])
    # Then both requests were sent as expected
    assert hook == {"id": "77"}
    assert json.loads(http.calls[0].request.body) == {
        "event": "new_sms", "hook_url": "https://h.example/x"}
