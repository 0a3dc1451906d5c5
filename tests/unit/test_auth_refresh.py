"""OAuth refresh against a STRICT HTTP stub: shortly before expiry and once after a 401,
under a lock (one refresh however many need one), the new refresh token stored before
the old one is gone, a refused refresh pauses the location."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
import responses
from responses import matchers

from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlAuthError
from tests.unit.auth_support import (
    BASE,
    CLIENT_ID,
    CLIENT_SECRET,
    LOC,
    TOKEN_URL,
    form_of,
    make_settings,
    new_redis,
    provider,
    store_oauth,
    token_answer,
)
from worker.auth.bootstrap import build_token_provider, with_granted_scopes
from worker.auth.errors import AuthUnavailable, CredentialsRefused, LocationPaused

CONTACT_URL = f"{BASE}/contacts/c1"


@pytest.fixture
def redis():
    return new_redis()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def client_for(prov) -> GhlClient:
    return GhlClient(base_url=BASE, token=prov, location_id=LOC,
                     scopes={"contacts.readonly", "contacts.write"})


def bearer(token: str):
    return matchers.header_matcher({"Authorization": f"Bearer {token}"})


def test_a_refresh_sends_the_spec_form_and_stores_the_new_pair(redis, rsps):
    # Given an expired pair
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-old", refresh="rt-old", expires_in_s=-1)
    rsps.post(TOKEN_URL, json=token_answer("at-new", "rt-new", expires_in=3600),
              match=[matchers.header_matcher(
                  {"Content-Type": "application/x-www-form-urlencoded"})])
    # When a token is asked for
    assert prov() == "at-new"
    # Then the request was form-encoded with every field the spec names
    assert form_of(rsps.calls[0].request) == {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
        "refresh_token": "rt-old", "user_type": "Location"}
    stored = prov.store.load()
    assert (stored.refresh_token, stored.source, stored.version) == ("rt-new", "refresh", 2)
    assert 3590 < stored.expires_at_s - time.time() <= 3600
    assert prov.store.summary()["refreshes"] == "1"


def test_refresh_happens_within_the_margin_before_expiry_and_not_earlier(redis, rsps):
    prov = provider(make_settings(ghl_token_refresh_margin_s=30), redis)
    # Given a token with 40 s left: no call (the strict stub has none registered)
    store_oauth(prov, access="at-40", refresh="rt-40", expires_in_s=40)
    assert prov() == "at-40"
    # When it has 20 s left
    store_oauth(prov, access="at-20", refresh="rt-20", expires_in_s=20)
    rsps.post(TOKEN_URL, json=token_answer("at-fresh", "rt-fresh"))
    # Then it is refreshed first
    assert prov() == "at-fresh"
    assert len(rsps.calls) == 1


def test_five_processes_needing_a_refresh_make_exactly_one(redis, rsps):
    # Given five processes (each its own provider) sharing one Redis, and an expired pair
    settings = make_settings()
    providers = [provider(settings, redis) for _ in range(5)]
    store_oauth(providers[0], access="at-old", refresh="rt-old", expires_in_s=-1)
    start = threading.Barrier(5)

    def slow_answer(request):
        time.sleep(0.3)  # GHL takes its time: the others are all waiting meanwhile
        return 200, {}, '{"access_token": "at-new", "refresh_token": "rt-new", ' \
                        '"expires_in": 3600, "scope": "contacts.readonly"}'

    rsps.add_callback(responses.POST, TOKEN_URL, callback=slow_answer)
    got: list[str] = []

    def ask(prov):
        start.wait()
        got.append(prov())

    # When all five need a token at once
    threads = [threading.Thread(target=ask, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # Then GHL saw exactly one refresh, and every process uses the new token
    assert len(rsps.calls) == 1
    assert got == ["at-new"] * 5


def test_five_threads_of_one_process_make_exactly_one(redis, rsps):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-old", refresh="rt-old", expires_in_s=-1)
    rsps.post(TOKEN_URL, json=token_answer("at-new", "rt-new"))
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(prov())) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(rsps.calls) == 1 and got == ["at-new"] * 5


def test_the_new_refresh_token_is_stored_before_the_old_is_dropped(redis, rsps):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=-1)
    seen_during_call: list[str | None] = []

    def answer(request):
        # while GHL rotates the pair, the store still holds the old one (not dropped first)
        seen_during_call.append(provider(make_settings(), redis).store.load().refresh_token)
        return 200, {}, '{"access_token": "at-2", "refresh_token": "rt-2", "expires_in": -1}'

    rsps.add_callback(responses.POST, TOKEN_URL, callback=answer)
    # When the pair is refreshed (and, being expired at once, refreshed again)
    prov()
    rsps.replace(responses.POST, TOKEN_URL, json=token_answer("at-3", "rt-3"),
                 match=[matchers.urlencoded_params_matcher({
                     "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "grant_type": "refresh_token", "refresh_token": "rt-2",
                     "user_type": "Location"})])
    # Then the next refresh sends the NEW refresh token
    assert prov() == "at-3"
    assert seen_during_call == ["rt-1"]


def test_a_failed_save_leaves_the_old_pair_in_place(redis, rsps, monkeypatch):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=-1)
    rsps.post(TOKEN_URL, json=token_answer("at-2", "rt-2"))

    real_execute = redis_lib.client.Pipeline.execute

    def broken(self, *a, **k):  # the write transaction fails; reads still work
        if self.transaction:
            raise redis_lib.exceptions.ConnectionError("Redis went away")
        return real_execute(self, *a, **k)

    monkeypatch.setattr(redis_lib.client.Pipeline, "execute", broken)
    with pytest.raises(redis_lib.exceptions.ConnectionError):
        prov()
    monkeypatch.undo()
    assert prov.store.load().refresh_token == "rt-1"  # never deleted ahead of the new one


def test_a_401_refreshes_once_and_the_retry_uses_the_new_token(redis, rsps):
    # Given a pair GHL considers revoked although not expired
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-revoked", refresh="rt-1", expires_in_s=3600)
    client = client_for(prov)
    rsps.get(CONTACT_URL, status=401, match=[bearer("at-revoked")],
             json={"statusCode": 401, "message": "Invalid JWT"})
    rsps.post(TOKEN_URL, json=token_answer("at-good", "rt-2"))
    rsps.get(CONTACT_URL, json={"contact": {"id": "c1"}}, match=[bearer("at-good")])
    # When the call is refused, reported, and made again
    with pytest.raises(GhlAuthError) as refused:
        client.get_contact("c1")
    changed = prov.after_unauthorized(refused.value.message)
    # Then exactly one refresh happened and the retry succeeds with the new token
    assert "refreshed" in changed
    assert client.get_contact("c1") == {"id": "c1"}
    assert [c.request.url for c in rsps.calls].count(TOKEN_URL) == 1


def test_a_401_after_the_401_refresh_pauses_without_another_refresh(redis, rsps):
    # Given a pair that came from a refresh forced by a 401
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-2", refresh="rt-2", expires_in_s=3600, after_401=True)
    prov()
    # When GHL refuses it as well (strict stub: no refresh may be sent)
    with pytest.raises(CredentialsRefused) as refused:
        prov.after_unauthorized("Invalid JWT")
    # Then the location is paused with a reason, and nothing is sent any more
    assert "even after a refresh" in str(refused.value)
    assert "paused" in str(refused.value)
    with pytest.raises(LocationPaused):
        prov()


def test_other_callers_that_meet_the_same_refusal_wait_instead(redis):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-2", refresh="rt-2", expires_in_s=3600, after_401=True)
    prov()
    with pytest.raises(CredentialsRefused):
        prov.after_unauthorized("Invalid JWT", used="v1")
    with pytest.raises(LocationPaused):
        prov.after_unauthorized("Invalid JWT", used="v1")


def test_a_refused_refresh_pauses_with_a_clear_reason_and_no_secret(redis, rsps):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=-1)
    rsps.post(TOKEN_URL, status=401, json={"statusCode": 401, "error": "Unauthorized",
                                           "message": "Invalid client credentials"})
    with pytest.raises(CredentialsRefused) as refused:
        prov()
    text = str(refused.value)
    assert "HTTP 401: Invalid client credentials" in text and "GHL_CLIENT_SECRET" in text
    assert CLIENT_SECRET not in text and "rt-1" not in text
    assert prov.store.get_pause().reason in text
    with pytest.raises(LocationPaused):  # and no second attempt (strict stub)
        prov()


def test_a_token_endpoint_outage_is_temporary_and_pauses_nothing(redis, rsps):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=-1)
    rsps.post(TOKEN_URL, status=503, headers={"Retry-After": "2"}, json={"message": "down"})
    with pytest.raises(AuthUnavailable) as down:
        prov()
    assert down.value.retry_after_ms == 2000
    assert prov.store.get_pause() is None
    assert prov.store.load().refresh_token == "rt-1"


def test_an_answer_without_a_pair_is_temporary(redis, rsps):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=-1)
    rsps.post(TOKEN_URL, json={"access_token": "only-one"})
    with pytest.raises(AuthUnavailable, match="no token pair"):
        prov()


def test_ghl_refresh_token_seeds_the_chain_once_and_scopes_come_from_the_answer(redis, rsps):
    # Given only GHL_REFRESH_TOKEN, and GHL_SCOPES unset
    settings = make_settings(ghl_refresh_token="rt-env", ghl_scopes_set=False,
                             ghl_scopes=frozenset({"contacts.readonly"}))
    rsps.post(TOKEN_URL, json=token_answer("at-1", "rt-1", scope="contacts.readonly "
                                           "contacts.write calendars/events.write"))
    # When a worker starts
    prov = build_token_provider(settings, redis)
    # Then it refreshed at once and takes the granted scopes
    assert form_of(rsps.calls[0].request)["refresh_token"] == "rt-env"
    assert with_granted_scopes(settings, prov).ghl_scopes == {
        "contacts.readonly", "contacts.write", "calendars/events.write"}
    # and a second start neither seeds again nor refreshes (strict stub: no more calls)
    again = build_token_provider(settings, redis)
    assert again() == "at-1" and len(rsps.calls) == 1


def test_ghl_scopes_win_over_the_tokens_scope_when_set(redis):
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-1", refresh="rt-1", expires_in_s=3600)
    settings = make_settings(ghl_scopes=frozenset({"contacts.readonly"}), ghl_scopes_set=True)
    assert with_granted_scopes(settings, prov).ghl_scopes == {"contacts.readonly"}


def test_processes_waiting_behind_a_refused_refresh_do_not_ask_again(redis, rsps):
    # Given two processes needing a refresh, and GHL refusing the client
    settings = make_settings()
    first, second = provider(settings, redis), provider(settings, redis)
    store_oauth(first, access="at-1", refresh="rt-1", expires_in_s=-1)
    rsps.post(TOKEN_URL, status=401, json={"statusCode": 401, "message": "Invalid client"})
    with pytest.raises(CredentialsRefused):
        first()
    # When the second one took the lock right after (it saw the same version)
    with pytest.raises(LocationPaused):
        second.refresh(1)
    # Then GHL was asked once only
    assert len(rsps.calls) == 1


def test_a_401_on_a_refreshed_pair_that_has_just_expired_is_an_expiry_not_a_refusal(
        redis, rsps):
    # Given the pair of a 401-refresh, which expired while a call was on its way
    prov = provider(make_settings(ghl_token_refresh_margin_s=1), redis)
    store_oauth(prov, access="at-2", refresh="rt-2", expires_in_s=0.5, after_401=True)
    rsps.post(TOKEN_URL, json=token_answer("at-3", "rt-3"))
    # When GHL answers 401
    changed = prov.after_unauthorized("Invalid JWT", used="v1")
    # Then it is refreshed like any expiry, and nothing is paused
    assert "refreshed" in changed and prov.store.get_pause() is None
    assert prov() == "at-3" and prov.store.load().after_401 is False
