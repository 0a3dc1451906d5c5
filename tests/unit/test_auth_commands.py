"""``toky-ghl auth login`` and ``auth status``: the authorize URL with the scopes, the code
exchanged and stored, a status that says everything but the token."""

from __future__ import annotations

import io
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.fernet import Fernet
from responses import matchers

from cli import main as cli
from tests.unit.auth_support import (
    BASE,
    CLIENT_ID,
    CLIENT_SECRET,
    KEY,
    LOC,
    TOKEN_URL,
    make_settings,
    provider,
    store_oauth,
    token_answer,
)
from worker.auth.pause import Pause

REDIRECT = "https://app.example/oauth/callback"


@pytest.fixture
def redis(monkeypatch):
    import fakeredis

    client = fakeredis.FakeRedis()
    monkeypatch.setattr("toky_ghl.redis_conn.get_redis", lambda url=None: client)
    for name, value in {"GHL_LOCATION_ID": LOC, "TOKEN_ENCRYPTION_KEY": KEY,
                        "TOKY_GHL_KEY_PREFIX": "t", "GHL_CLIENT_ID": CLIENT_ID,
                        "GHL_CLIENT_SECRET": CLIENT_SECRET, "GHL_API_BASE": BASE,
                        "GHL_OAUTH_REDIRECT_URI": REDIRECT,
                        "GHL_SCOPES": "contacts.readonly contacts.write"}.items():
        monkeypatch.setenv(name, value)
    return client


def exchange(code: str, answer: dict | None = None, status: int = 200):
    return dict(method=responses.POST, url=TOKEN_URL, status=status,
                json=answer or token_answer("at-LOGIN-0001", "rt-LOGIN-0001"),
                match=[matchers.urlencoded_params_matcher({
                    "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "grant_type": "authorization_code", "code": code,
                    "user_type": "Location", "redirect_uri": REDIRECT})])


def test_login_prints_the_authorize_url_reads_the_code_and_stores_the_pair(
        redis, monkeypatch, capsys):
    # Given the redirect URL pasted on standard input
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{REDIRECT}?code=CODE-123\n"))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(**exchange("CODE-123"))
        # When logging in
        code = cli.main(["auth", "login"])
    out, err = capsys.readouterr()
    # Then the first line is the marketplace's chooselocation URL with the scopes
    assert code == 0, err
    url = urlsplit(out.splitlines()[0])
    assert f"{url.scheme}://{url.netloc}{url.path}" == \
        "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
    assert parse_qs(url.query) == {"response_type": ["code"], "redirect_uri": [REDIRECT],
                                   "client_id": [CLIENT_ID],
                                   "scope": ["contacts.readonly contacts.write"]}
    assert "%20" in url.query
    # and the pair is stored, and never printed
    assert "logged in" in out and "at-LOGIN" not in out + err and "rt-LOGIN" not in out + err
    stored = provider(make_settings(), redis).store.load()
    assert (stored.kind, stored.source, stored.refresh_token) == ("oauth", "login",
                                                                  "rt-LOGIN-0001")


def test_login_takes_the_code_from_the_option_and_the_url_base_from_settings(
        redis, monkeypatch, capsys):
    monkeypatch.setenv("GHL_OAUTH_AUTHORIZE_URL", "http://127.0.0.1:9/v2/oauth/chooselocation")
    # When the code is given as an option: no URL, no prompt
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(**exchange("CODE-OPT"))
        assert cli.main(["auth", "login", "--code", "CODE-OPT"]) == 0
    assert capsys.readouterr().out.startswith("logged in")
    # When other scopes are asked for, against a configured consent page
    monkeypatch.setattr("sys.stdin", io.StringIO("CODE-2\n"))
    with responses.RequestsMock() as rsps:
        rsps.add(**exchange("CODE-2"))
        assert cli.main(["auth", "login", "--scopes", "contacts.readonly"]) == 0
    url = capsys.readouterr().out.splitlines()[0]
    assert url.startswith("http://127.0.0.1:9/v2/oauth/chooselocation?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["contacts.readonly"]


def test_a_consent_for_another_location_stores_nothing(redis, capsys):
    answer = {**token_answer("at-X", "rt-X"), "locationId": "someOtherLocation000"}
    with responses.RequestsMock() as rsps:
        rsps.add(**exchange("CODE-1", answer))
        assert cli.main(["auth", "login", "--code", "CODE-1"]) == 2
    assert "someOtherLocation000" in capsys.readouterr().err
    assert provider(make_settings(), redis).store.probe() == (None, None)


def test_a_refused_code_is_a_clear_error(redis, capsys):
    with responses.RequestsMock() as rsps:
        rsps.add(**exchange("CODE-OLD", {"statusCode": 400, "message": "Invalid grant"}, 400))
        assert cli.main(["auth", "login", "--code", "CODE-OLD"]) == 1
    err = capsys.readouterr().err
    assert "GHL refused the authorization code grant" in err and "Invalid grant" in err
    assert CLIENT_SECRET not in err


def test_login_without_a_key_fails_before_spending_the_code(redis, monkeypatch, capsys):
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY")
    with responses.RequestsMock():  # strict: no request may be sent
        assert cli.main(["auth", "login", "--code", "CODE-1"]) == 2
    assert "TOKEN_ENCRYPTION_KEY must be set" in capsys.readouterr().err


def test_status_shows_kind_scopes_location_expiry_and_pause_but_no_token(redis, capsys):
    # Given stored OAuth credentials, refreshed once, and a pause
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-STATUS-0001", refresh="rt-STATUS-0001", expires_in_s=3600)
    prov.store.save(prov.store.load().with_(source="refresh", refreshed_at_s=time.time()))
    prov.store.pause(Pause("GHL refused the refresh grant", "v2", time.time()))
    # When the status is asked for, as text and as JSON
    assert cli.main(["auth", "status"]) == 0
    text = capsys.readouterr().out
    assert cli.main(["auth", "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # Then it says what the credentials are, and why sending is paused
    assert data["kind"] == "oauth" and data["location"] == LOC
    assert data["scopes"] == ["contacts.readonly", "contacts.write"]
    assert 3500 < data["expires_in_s"] <= 3600 and data["refreshes"] == 1
    assert data["last_refresh_at"] and data["paused"]["reason"] == "GHL refused the refresh grant"
    assert "OAuth (from refresh, version 2)" in text and "paused        YES" in text
    # and never a token, a secret or the key
    for secret in ("at-STATUS-0001", "rt-STATUS-0001", CLIENT_SECRET, KEY):
        assert secret not in text and secret not in json.dumps(data)


def test_status_of_a_plain_ghl_token(redis, monkeypatch, capsys):
    for name in ("GHL_CLIENT_ID", "GHL_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("GHL_TOKEN", "pit-PLAIN-0001")
    assert cli.main(["auth", "status"]) == 0
    out = capsys.readouterr().out
    assert "Private Integration Token (from GHL_TOKEN)" in out and "paused        no" in out
    assert "pit-PLAIN-0001" not in out


def test_new_key_prints_a_usable_fernet_key(capsys):
    assert cli.main(["auth", "new-key"]) == 0
    Fernet(capsys.readouterr().out.strip().encode())
