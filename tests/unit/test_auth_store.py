"""The credential store: Fernet encryption at rest, clear errors for a missing or wrong
key, versions that grow, a plain summary without secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from tests.unit.auth_support import KEY, LOC, make_settings, new_redis, provider, raw_values
from tests.unit.auth_support import store_oauth as put_oauth
from toky_ghl.errors import ConfigError
from toky_ghl.settings import Settings
from worker.auth.crypto import TokenCipher
from worker.auth.errors import UndecryptableCredentials
from worker.auth.manage import rotate_pit
from worker.auth.pause import Pause
from worker.auth.record import Credentials
from worker.auth.store import TokenStore

ACCESS, REFRESH = "at-VERY-SECRET-0001", "rt-VERY-SECRET-0001"


@pytest.fixture
def redis():
    return new_redis()


def test_tokens_are_encrypted_at_rest_and_the_summary_holds_no_secret(redis):
    # Given an OAuth pair stored for the location
    prov = provider(make_settings(), redis)
    put_oauth(prov, access=ACCESS, refresh=REFRESH, expires_in_s=3600)
    # Then no Redis key or value holds either token, in any form we could search for
    raw = raw_values(redis)
    assert ACCESS.encode() not in raw and REFRESH.encode() not in raw
    assert b"VERY-SECRET" not in raw
    # and the plain summary says what it is without the secrets
    summary = prov.store.summary()
    assert summary["kind"] == "oauth" and summary["location_id"] == LOC
    assert summary["scopes"] == "contacts.readonly contacts.write"
    # and the store gives the tokens back decrypted
    creds = prov.store.load()
    assert (creds.access_token, creds.refresh_token) == (ACCESS, REFRESH)


def test_a_wrong_key_gives_a_clear_error_without_the_token(redis):
    prov = provider(make_settings(), redis)
    put_oauth(prov, access=ACCESS, refresh=REFRESH, expires_in_s=3600)
    # When another key reads the store
    other = TokenStore(redis, "t", LOC, TokenCipher(Fernet.generate_key().decode()))
    with pytest.raises(UndecryptableCredentials) as caught:
        other.load()
    # Then the error names the variable and carries no secret
    text = str(caught.value)
    assert "TOKEN_ENCRYPTION_KEY" in text and "do not decrypt" in text
    assert ACCESS not in text and REFRESH not in text and KEY not in text


def test_a_list_of_keys_decrypts_with_the_old_one_and_encrypts_with_the_new(redis):
    old = provider(make_settings(), redis)
    put_oauth(old, access=ACCESS, refresh=REFRESH, expires_in_s=3600)
    new_key = Fernet.generate_key().decode()
    both = TokenStore(redis, "t", LOC, TokenCipher(f"{new_key},{KEY}"))
    assert both.load().access_token == ACCESS
    both.save(both.load().with_(source="rotate"))
    assert TokenStore(redis, "t", LOC, TokenCipher(new_key)).load().access_token == ACCESS


def test_storing_without_a_key_is_a_config_error_naming_it(redis):
    settings = make_settings(token_encryption_key=None, ghl_client_id=None,
                             ghl_client_secret=None)
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY must be set"):
        rotate_pit(settings, redis, "pit-new-0001")
    assert redis.keys("*") == []


def test_reading_stored_credentials_without_a_key_names_the_key(redis):
    put_oauth(provider(make_settings(), redis), access=ACCESS, refresh=REFRESH,
              expires_in_s=3600)
    keyless = TokenStore(redis, "t", LOC, None)
    with pytest.raises(UndecryptableCredentials, match="set TOKEN_ENCRYPTION_KEY"):
        keyless.load()


@pytest.mark.parametrize("value", ["short", "a,b", "x" * 44])
def test_a_malformed_key_is_refused_at_start_naming_the_variable(value):
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY key #1 is not a Fernet key"):
        Settings.from_env({"TOKEN_ENCRYPTION_KEY": value})


def test_every_write_grows_the_version_and_lifts_the_pause(redis):
    prov = provider(make_settings(), redis)
    first = put_oauth(prov, access=ACCESS, refresh=REFRESH, expires_in_s=3600)
    prov.store.pause(Pause("refused", f"v{first.version}", 1.0))
    second = prov.store.save(Credentials(kind="pit", access_token="pit-2"))
    assert (first.version, second.version) == (1, 2)
    assert prov.store.probe() == (2, None)


def test_a_pause_for_the_same_version_is_set_once(redis):
    store = provider(make_settings(), redis).store
    assert store.pause(Pause("first", "v1", 1.0)) is True
    assert store.pause(Pause("second", "v1", 2.0)) is False
    assert store.get_pause().reason == "first"
    assert store.pause(Pause("newer credentials", "v2", 3.0)) is True


def test_the_probe_reads_the_pause_with_the_version_and_a_lift_clears_both(redis):
    # Given stored credentials and a pause for them
    prov = provider(make_settings(), redis)
    first = put_oauth(prov, access=ACCESS, refresh=REFRESH, expires_in_s=3600)
    store = prov.store
    assert store.pause(Pause("refused", f"v{first.version}", 1.0)) is True
    # Then one read of the summary hash gives both, and the summary shows no pause field
    assert redis.hget(store.meta_key, "pause") is not None
    assert store.probe()[1].reason == "refused" and "pause" not in store.summary()
    # When the pause is lifted / Then neither the record nor its copy is left
    assert store.clear_pause() is True
    assert store.probe() == (first.version, None) and store.get_pause() is None


def test_a_pause_an_older_version_stored_is_copied_when_ghl_refuses_again(redis):
    # Given a pause stored as an older version did (the record only)
    store = provider(make_settings(), redis).store
    redis.set(store.pause_key, Pause("old", "v1", 1.0).to_json())
    assert store.probe()[1] is None
    # When a call refused for the same credentials would pause the location
    assert store.pause(Pause("again", "v1", 2.0)) is False
    # Then the probe sees the recorded pause from now on
    assert store.probe()[1].reason == "old"


def test_secrets_stay_out_of_reprs():
    settings = make_settings(ghl_refresh_token="rt-env-SECRET")
    creds = Credentials(kind="oauth", access_token=ACCESS, refresh_token=REFRESH)
    text = repr(settings) + repr(creds) + repr(TokenCipher(KEY))
    assert ACCESS not in text and REFRESH not in text and KEY not in text
    assert "client-SECRET" not in text and "rt-env-SECRET" not in text


@pytest.mark.parametrize("env, message", [
    ({"GHL_CLIENT_ID": "c"}, "GHL_CLIENT_ID and GHL_CLIENT_SECRET go together"),
    ({"GHL_REFRESH_TOKEN": "r"}, "GHL_REFRESH_TOKEN needs GHL_CLIENT_ID"),
    ({"GHL_OAUTH_REDIRECT_URI": "ftp://x"}, "GHL_OAUTH_REDIRECT_URI must be a URL"),
])
def test_oauth_settings_are_validated(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_oauth_settings_are_read():
    settings = Settings.from_env({
        "GHL_CLIENT_ID": "c", "GHL_CLIENT_SECRET": "s", "GHL_REFRESH_TOKEN": "r",
        "TOKEN_ENCRYPTION_KEY": KEY, "GHL_OAUTH_REDIRECT_URI": "https://app.example/cb",
        "GHL_TOKEN_REFRESH_MARGIN_S": "5", "GHL_SCOPES": "contacts.write"})
    assert settings.ghl_token_refresh_margin_s == 5.0 and settings.ghl_scopes_set
    assert settings.ghl_oauth_authorize_url.endswith("/v2/oauth/chooselocation")
    public = settings.public_dict()
    assert public["ghl_client_secret"] == "***" and public["token_encryption_key"] == "***"
    assert public["ghl_refresh_token"] == "***"
