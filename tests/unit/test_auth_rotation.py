"""Private Integration Token rotation: stored from standard input only, used by running
workers from their next call, and a call in flight with the old token retries with the new."""

from __future__ import annotations

import io

import pytest
import responses
from responses import matchers

from cli import main as cli
from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlAuthError
from tests.unit.auth_support import (
    BASE,
    KEY,
    LOC,
    make_settings,
    new_redis,
    provider,
    store_pit,
)
from toky_ghl.errors import ConfigError
from worker.auth.bootstrap import build_token_provider
from worker.auth.errors import AuthUnavailable, CredentialsRefused, LocationPaused
from worker.auth.manage import forget, rotate_pit
from worker.auth.pause import Pause

PIT_SETTINGS = {"ghl_client_id": None, "ghl_client_secret": None}


@pytest.fixture
def redis():
    return new_redis()


@pytest.fixture
def settings():
    return make_settings(ghl_token="pit-env-0001", **PIT_SETTINGS)


def test_ghl_token_is_used_while_nothing_is_stored_without_needing_a_key(redis):
    settings = make_settings(ghl_token="pit-env-0001", token_encryption_key=None, **PIT_SETTINGS)
    prov = build_token_provider(settings, redis)
    assert prov() == "pit-env-0001"
    assert redis.keys("*") == []  # nothing stored, nothing to encrypt


def test_a_rotation_is_used_from_the_next_call_without_a_restart(redis, settings):
    # Given a running worker's provider using GHL_TOKEN
    prov = build_token_provider(settings, redis)
    assert prov() == "pit-env-0001"
    # When a new token is rotated in (by another process)
    rotate_pit(settings, redis, "pit-rotated-0002\n")
    # Then the very next call uses it, and so does every later one
    assert prov() == "pit-rotated-0002"
    rotate_pit(settings, redis, "pit-rotated-0003")
    assert prov() == "pit-rotated-0003"


def test_the_decrypted_token_is_cached_until_the_version_changes(redis, settings, monkeypatch):
    prov = build_token_provider(settings, redis)
    rotate_pit(settings, redis, "pit-0002")
    loads = []
    real = prov.store.load
    monkeypatch.setattr(prov.store, "load", lambda: loads.append(1) or real())
    for _ in range(5):
        prov()
    assert len(loads) == 1


def test_a_call_in_flight_with_the_old_token_retries_with_the_new(redis, settings):
    prov = build_token_provider(settings, redis)
    client = GhlClient(base_url=BASE, token=prov, location_id=LOC, scopes={"contacts.readonly"})

    def rotate_meanwhile(_request):  # "rotate and expire now" while the call is on its way
        rotate_pit(settings, redis, "pit-new-0002")
        return 401, {}, '{"statusCode": 401, "message": "Invalid JWT"}'

    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.GET, f"{BASE}/contacts/c1", callback=rotate_meanwhile,
                          match=[matchers.header_matcher({"Authorization": "Bearer pit-env-0001"})])
        rsps.get(f"{BASE}/contacts/c1", json={"contact": {"id": "c1"}},
                 match=[matchers.header_matcher({"Authorization": "Bearer pit-new-0002"})])
        with pytest.raises(GhlAuthError) as refused:
            client.get_contact("c1")
        # When the 401 is reported
        changed = prov.after_unauthorized(refused.value.message)
        # Then it is not a failure: the credentials changed, and the retry succeeds
        assert "credentials changed" in changed
        assert client.get_contact("c1") == {"id": "c1"}
    assert prov.store.get_pause() is None


def test_a_401_on_the_current_pit_pauses_and_a_rotation_lifts_it(redis, settings):
    prov = build_token_provider(settings, redis)
    prov()
    with pytest.raises(CredentialsRefused, match="GHL refused GHL_TOKEN .*auth rotate"):
        prov.after_unauthorized("Invalid JWT")
    with pytest.raises(LocationPaused):
        prov()
    # When a new token is rotated in
    rotate_pit(settings, redis, "pit-new-0002")
    # Then sending resumes with it
    assert prov() == "pit-new-0002"


def test_a_pause_of_ghl_token_ends_when_the_worker_gets_another_ghl_token(redis, settings):
    prov = build_token_provider(settings, redis)
    prov()
    with pytest.raises(CredentialsRefused):
        prov.after_unauthorized("Invalid JWT")
    restarted = build_token_provider(make_settings(ghl_token="pit-env-0009", **PIT_SETTINGS),
                                     redis)
    assert restarted() == "pit-env-0009"


def test_stored_credentials_need_the_key_at_worker_start(redis, settings):
    rotate_pit(settings, redis, "pit-0002")
    keyless = make_settings(ghl_token="pit-env", token_encryption_key=None, **PIT_SETTINGS)
    with pytest.raises(ConfigError, match="set TOKEN_ENCRYPTION_KEY"):
        build_token_provider(keyless, redis)


def test_no_credentials_at_all_names_every_way_to_give_them(redis):
    with pytest.raises(ConfigError, match="GHL_TOKEN .*GHL_REFRESH_TOKEN .*auth rotate"):
        build_token_provider(make_settings(**PIT_SETTINGS), redis)


def test_a_worker_that_cannot_decrypt_waits_instead_of_failing_events(redis, settings):
    prov = build_token_provider(make_settings(ghl_token="pit-env", token_encryption_key=None,
                                              **PIT_SETTINGS), redis)
    rotate_pit(settings, redis, "pit-0002")
    with pytest.raises(AuthUnavailable, match="TOKEN_ENCRYPTION_KEY"):
        prov()


def test_an_empty_or_spaced_token_is_refused(redis, settings):
    for bad in ("", "  \n", "two words"):
        with pytest.raises(ConfigError, match="empty or holds spaces"):
            rotate_pit(settings, redis, bad)


# -- the command -----------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch, redis):
    monkeypatch.setenv("GHL_LOCATION_ID", LOC)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("TOKY_GHL_KEY_PREFIX", "t")
    monkeypatch.setattr("toky_ghl.redis_conn.get_redis", lambda url=None: redis)
    return redis


@pytest.mark.parametrize("argv", [
    ["auth", "rotate", "pit-ON-THE-LINE-1"],
    ["auth", "rotate", "--token", "pit-ON-THE-LINE-1"],
    ["auth", "rotate", "--token=pit-ON-THE-LINE-1"],
    ["auth", "rotate", "--tok", "pit-ON-THE-LINE-1"],
    ["auth", "rotate", "--frobnicate=pit-ON-THE-LINE-1"],
])
def test_the_command_refuses_a_token_on_the_command_line_without_echoing_it(
        argv, env, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert "refusing a token on the command line" in err and "standard input" in err
    assert "pit-ON-THE-LINE-1" not in out + err
    assert env.keys("*") == []


def test_the_command_reads_standard_input_and_never_prints_the_token(env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("pit-from-STDIN-0001\n"))
    code = cli.main(["auth", "rotate"])
    out, err = capsys.readouterr()
    assert code == 0 and "rotated" in out and "version 1" in out
    assert "pit-from-STDIN-0001" not in out + err
    stored = provider(make_settings(**PIT_SETTINGS), env).store.load()
    assert stored.access_token == "pit-from-STDIN-0001" and stored.kind == "pit"


def test_rotation_lifts_a_pause_through_the_command(env, monkeypatch, capsys):
    store = provider(make_settings(**PIT_SETTINGS), env).store
    store_pit(provider(make_settings(**PIT_SETTINGS), env), "pit-0001")
    store.pause(Pause("GHL refused it", "v1", 1.0))
    monkeypatch.setattr("sys.stdin", io.StringIO("pit-0002"))
    assert cli.main(["auth", "rotate"]) == 0
    assert store.get_pause() is None


def test_a_rotation_landing_while_a_401_is_judged_is_not_a_refusal(redis, settings):
    # Given a 401 on GHL_TOKEN, and a rotation stored right after the first look at Redis
    prov = build_token_provider(settings, redis)
    prov()
    real_probe = prov.store.probe
    calls = []

    def probe_then_rotate():
        answer = real_probe()
        if not calls:
            rotate_pit(settings, redis, "pit-new-0002")
        calls.append(1)
        return answer

    prov.store.probe = probe_then_rotate
    # When the 401 is judged
    changed = prov.after_unauthorized("Invalid JWT")
    # Then the new token is used, and nothing is paused or dead-lettered
    assert "credentials changed" in changed
    assert prov.store.get_pause() is None and prov() == "pit-new-0002"


def test_forget_hands_back_to_ghl_token_and_never_reuses_a_version(redis, settings):
    # Given a running worker's provider using a rotated token (cached at version 1)
    prov = build_token_provider(settings, redis)
    rotate_pit(settings, redis, "pit-rotated-0002")
    assert prov() == "pit-rotated-0002"
    # When the stored credentials are forgotten
    assert forget(settings, redis) == 1
    # Then the very next call uses GHL_TOKEN again
    assert prov() == "pit-env-0001"
    # And a later rotation gets a new version, so the cached old token is never used for it
    assert rotate_pit(settings, redis, "pit-rotated-0003").version == 2
    assert prov() == "pit-rotated-0003"
    # And forgetting when nothing is stored does nothing
    assert forget(settings, redis) == 2 and forget(settings, redis) is None


def test_the_env_token_is_labelled_by_its_digest_until_a_rotation_then_by_version():
    from tests.unit.auth_support import make_settings, new_redis, provider, store_pit
    from worker.auth.provider import env_label, used_version

    # Given a worker on GHL_TOKEN
    prov = provider(make_settings(ghl_token="pit-ENV-0123456789"), new_redis())
    # When it sends / Then the label is the token's digest (never the token), every call
    for _ in range(2):
        assert prov() == "pit-ENV-0123456789"
        assert used_version() == env_label("pit-ENV-0123456789") != env_label("pit-other")
        assert "pit-ENV" not in (used_version() or "")
    # and once a token is rotated in, the very next call uses it, labelled by its version
    store_pit(prov, "pit-ROTATED-0123456789")
    assert prov() == "pit-ROTATED-0123456789" and used_version() == "v1"
